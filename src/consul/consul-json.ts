/**
 * Consul's JSON shapes for catalog and health reads. Outrigger has no nodes: each instance's
 * address is its node (named by the address), which is also what a Consul client falls back to
 * when a service has no address of its own.
 */
import type { Instance } from '../registry/model.js';
import { storedChecks, statusOfHealth, tagsOf, userMeta, type CheckStatus } from './consul-metadata.js';

export interface ConsulSite {
  datacenter: string;
}

export interface ConsulCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Namespace: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/**
 * The instance's checks as Consul shows them: its own (a TTL check is critical once the lease
 * expired), or one standing for the registry's health when it has none. When the instance is
 * not HEALTHY and no check says why (the owner reported it, or it drains), a check says so.
 */
export function checksOf(inst: Instance): ConsulCheck[] {
  const base = { Node: inst.address, Notes: '', ServiceID: inst.id, ServiceName: inst.service, ServiceTags: tagsOf(inst), Namespace: inst.namespace, CreateIndex: inst.revision, ModifyIndex: inst.revision };
  const expired = inst.lease.expiredAt !== undefined;
  const checks: ConsulCheck[] = storedChecks(inst).map((c) => ({
    ...base,
    CheckID: c.id,
    Name: c.name,
    Status: c.type === 'ttl' && expired ? 'critical' : c.status,
    Output: c.type === 'ttl' && expired ? 'TTL expired' : (c.output ?? ''),
    Type: c.type,
  }));
  if (inst.health !== 'HEALTHY' && !checks.some((c) => c.Status === 'critical')) {
    checks.push({ ...base, CheckID: `outrigger:health:${inst.id}`, Name: 'Outrigger health', Status: statusOfHealth(inst.health), Output: `the registry holds this instance as ${inst.health}`, Type: '' });
  }
  if (checks.length === 0) checks.push({ ...base, CheckID: `outrigger:health:${inst.id}`, Name: 'Outrigger health', Status: 'passing', Output: 'the registry holds this instance as HEALTHY', Type: '' });
  return checks;
}

function nodeOf(inst: Instance, site: ConsulSite): Record<string, unknown> {
  return { ID: '', Node: inst.address, Address: inst.address, Datacenter: site.datacenter, TaggedAddresses: {}, Meta: {}, CreateIndex: inst.revision, ModifyIndex: inst.revision };
}

function agentService(inst: Instance): Record<string, unknown> {
  return {
    ID: inst.id,
    Service: inst.service,
    Tags: tagsOf(inst),
    Address: inst.address,
    Port: inst.port,
    Meta: userMeta(inst),
    Weights: { Passing: inst.weight, Warning: 1 },
    EnableTagOverride: false,
    Namespace: inst.namespace,
    CreateIndex: inst.revision,
    ModifyIndex: inst.revision,
  };
}

/** One entry of `/v1/health/service/:name`. */
export function healthEntry(inst: Instance, site: ConsulSite): Record<string, unknown> {
  return { Node: nodeOf(inst, site), Service: agentService(inst), Checks: checksOf(inst) };
}

/** One entry of `/v1/catalog/service/:name`. */
export function catalogEntry(inst: Instance, site: ConsulSite): Record<string, unknown> {
  return {
    ID: '',
    Node: inst.address,
    Address: inst.address,
    Datacenter: site.datacenter,
    TaggedAddresses: {},
    NodeMeta: {},
    ServiceID: inst.id,
    ServiceName: inst.service,
    ServiceTags: tagsOf(inst),
    ServiceAddress: inst.address,
    ServicePort: inst.port,
    ServiceMeta: userMeta(inst),
    ServiceWeights: { Passing: inst.weight, Warning: 1 },
    ServiceEnableTagOverride: false,
    Namespace: inst.namespace,
    CreateIndex: inst.revision,
    ModifyIndex: inst.revision,
  };
}

/** One entry of `/v1/catalog/nodes`. */
export function nodeEntry(address: string, site: ConsulSite): Record<string, unknown> {
  return { ID: '', Node: address, Address: address, Datacenter: site.datacenter, TaggedAddresses: {}, Meta: {} };
}
