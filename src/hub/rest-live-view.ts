/**
 * The live instance view (`GET /api/v1/instances/live`): every instance with a status a
 * dashboard shows as is (`ready`, `not-ready`, `draining`), its health with the time of its last
 * transition, and the Kubernetes metadata of an instance from an EndpointSlice; and a summary.
 * The registry keeps no transition times, so `LiveTransitions` follows its change stream.
 */
import type { ReadFilter } from '../auth/access-check.js';
import { isoTime } from '../common/iso-time.js';
import type { Health } from '../model/health.js';
import type { Instance } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';

export type LiveStatus = 'ready' | 'not-ready' | 'draining';

const STATUS: Readonly<Record<Health, LiveStatus>> = { HEALTHY: 'ready', UNHEALTHY: 'not-ready', UNKNOWN: 'not-ready', DRAINING: 'draining' };

export interface LiveFilter {
  service?: string;
  namespace?: string;
}

/** When each instance's health last changed, and when anything last changed; follows the registry. */
export class LiveTransitions {
  private readonly at = new Map<string, { health: Health; since: number }>();
  private last: number;

  constructor(registry: Registry) {
    this.last = registry.clock.now();
    registry.subscribe((c) => {
      if (c.kind !== 'instance') return;
      const now = registry.clock.now();
      this.last = now;
      if (c.op === 'remove') {
        this.at.delete(c.instance.id);
        return;
      }
      const prev = this.at.get(c.instance.id);
      if (prev === undefined || prev.health !== c.instance.health) this.at.set(c.instance.id, { health: c.instance.health, since: now });
    });
  }

  /** The instance's last health transition; its registration when the hub saw none. */
  since(inst: Instance): number {
    const t = this.at.get(inst.id);
    return t !== undefined && t.health === inst.health ? t.since : inst.registeredAt;
  }

  get lastUpdate(): number {
    return this.last;
  }
}

/** Instances that match a filter and that the caller may read. */
export function liveInstances(registry: Registry, filter: LiveFilter, reads: ReadFilter | undefined): Instance[] {
  return registry.discover({
    healthyOnly: false,
    ...(filter.namespace !== undefined ? { namespace: filter.namespace } : {}),
    ...(filter.service !== undefined ? { service: filter.service } : {}),
    ...(reads !== undefined ? { visible: (ns: string, svc: string) => reads.service(ns, svc) } : {}),
  });
}

function kubernetesOf(inst: Instance): Record<string, string> | undefined {
  if (inst.source !== 'kubernetes') return undefined;
  const m = inst.metadata;
  const out: Record<string, string> = {};
  const keys: Array<[string, string]> = [['k8s.namespace', 'namespace'], ['k8s.pod_name', 'pod'], ['k8s.node_name', 'node'], ['k8s.port_name', 'port_name'], ['k8s.hints.for_zones', 'zone_hints']];
  for (const [key, name] of keys) if (m[key] !== undefined) out[name] = m[key];
  return out;
}

/** The view's body: instances (sorted by service, then id) and the summary. */
export function liveView(instances: readonly Instance[], transitions: LiveTransitions, version: number): Record<string, unknown> {
  const summary = { total: instances.length, ready: 0, notReady: 0, draining: 0, lastUpdate: isoTime(transitions.lastUpdate) };
  const rows = instances.map((inst) => {
    const status = STATUS[inst.health];
    if (status === 'ready') summary.ready++;
    else if (status === 'draining') summary.draining++;
    else summary.notReady++;
    const k8s = kubernetesOf(inst);
    return {
      id: inst.id,
      service: inst.service,
      namespace: inst.namespace,
      status,
      addresses: [inst.address],
      ports: [{ port: inst.port, protocol: inst.protocol }],
      zone: inst.zone,
      health: { state: inst.health, lastTransition: isoTime(transitions.since(inst)) },
      source: inst.source,
      ...(k8s !== undefined ? { kubernetes: k8s } : {}),
    };
  });
  rows.sort((a, b) => (a.namespace === b.namespace ? (a.service === b.service ? a.id.localeCompare(b.id) : a.service.localeCompare(b.service)) : a.namespace.localeCompare(b.namespace)));
  return { instances: rows, summary, registry_version: version };
}
