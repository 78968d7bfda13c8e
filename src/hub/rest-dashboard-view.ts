/**
 * The hub dashboard's view of the registry (`GET /api/v1/dashboard`): namespaces → services →
 * instances, as far as the caller may read, each service with the parts of its config the page
 * shows and what the caller may change there, so the page shows only the actions the server
 * would allow (it checks them again on each call).
 */
import { allows } from '../auth/access-check.js';
import type { Caller } from '../auth/caller.js';
import type { Instance, Service } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import type { LiveTransitions } from './rest-live-view.js';
import { LB_POLICIES } from '../model/service-config.js';

export interface DashboardInstance {
  id: string;
  address: string;
  port: number;
  protocol: string;
  health: string;
  health_since: string;
  zone: string;
  version: string;
  weight: number;
  source: string;
  /** `session` while a Session stream holds the lease; otherwise its TTL and time since renewal. */
  lease: { kind: 'session' } | { kind: 'ttl'; ttl_ms: number; age_ms: number; expired: boolean } | { kind: 'none' };
}

export interface DashboardService {
  name: string;
  namespace: string;
  config: Pick<Service['config'], 'lb_policy' | 'lb_options' | 'circuit_breakers' | 'outlier_detection'>;
  counts: { healthy: number; total: number };
  /** `instance_write`: drain and weight; `service_write`: the lb policy. */
  can: { instance_write: boolean; service_write: boolean };
  instances: DashboardInstance[];
}

export interface DashboardView {
  identity: { name: string; role: string };
  registry_version: number;
  self_preservation: boolean;
  lb_policies: readonly string[];
  namespaces: Array<{ name: string; services: DashboardService[] }>;
  totals: { namespaces: number; services: number; instances: number; healthy: number };
}

export function dashboardView(registry: Registry, transitions: LiveTransitions, caller: Caller): DashboardView {
  const reads = caller.reads;
  const now = registry.clock.now();
  const byNamespace = new Map<string, DashboardService[]>();
  for (const ns of registry.listNamespaces()) if (reads === undefined || reads.namespace(ns.name)) byNamespace.set(ns.name, []);
  const totals = { namespaces: 0, services: 0, instances: 0, healthy: 0 };
  for (const svc of registry.listServices()) {
    if (reads !== undefined && !reads.service(svc.namespace, svc.name)) continue;
    const instances = registry
      .instancesOf(svc.namespace, svc.name)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((inst) => instanceView(inst, transitions, now));
    const healthy = instances.filter((i) => i.health === 'HEALTHY').length;
    const resource = { namespace: svc.namespace, service: svc.name };
    const list = byNamespace.get(svc.namespace) ?? [];
    byNamespace.set(svc.namespace, list);
    list.push({
      name: svc.name,
      namespace: svc.namespace,
      config: { lb_policy: svc.config.lb_policy, lb_options: svc.config.lb_options, circuit_breakers: svc.config.circuit_breakers, outlier_detection: svc.config.outlier_detection },
      counts: { healthy, total: instances.length },
      can: { instance_write: allows(caller.identity, 'instance:write', resource), service_write: allows(caller.identity, 'service:write', resource) },
      instances,
    });
    totals.services++;
    totals.instances += instances.length;
    totals.healthy += healthy;
  }
  const namespaces = [...byNamespace].sort((a, b) => a[0].localeCompare(b[0])).map(([name, services]) => ({ name, services: services.sort((a, b) => a.name.localeCompare(b.name)) }));
  totals.namespaces = namespaces.length;
  return {
    identity: { name: caller.identity.name, role: caller.identity.role },
    registry_version: registry.version,
    self_preservation: registry.selfPreservationActive,
    lb_policies: LB_POLICIES,
    namespaces,
    totals,
  };
}

function instanceView(inst: Instance, transitions: LiveTransitions, now: number): DashboardInstance {
  const l = inst.lease;
  const lease: DashboardInstance['lease'] = l.held ? { kind: 'session' } : l.ttlMs === 0 ? { kind: 'none' } : { kind: 'ttl', ttl_ms: l.ttlMs, age_ms: Math.max(0, now - l.renewedAt), expired: l.expiredAt !== undefined };
  return {
    id: inst.id,
    address: inst.address,
    port: inst.port,
    protocol: inst.protocol,
    health: inst.health,
    health_since: new Date(transitions.since(inst)).toISOString(),
    zone: inst.zone,
    version: inst.version,
    weight: inst.weight,
    source: inst.source,
    lease,
  };
}
