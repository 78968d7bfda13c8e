/**
 * The hub's DNS answers, read from the registry. DNS carries no credentials, so every query is
 * the anonymous caller, under the same roles and scopes as every other API: a namespace or
 * service the anonymous policy may not read is answered exactly as one that does not exist, so
 * DNS never tells a hidden name from a missing one. Nothing is audited per query: a UDP source
 * can be forged, and a line per packet would let anyone flood the log.
 */
import type { AccessControl } from '../auth/access-control.js';
import { tagsOf } from '../consul/consul-metadata.js';
import { readFilter, type ReadFilter } from '../auth/access-check.js';
import { candidateZones } from '../dns/dns-names.js';
import type { DnsEndpoint, DnsService, DnsSource } from '../dns/dns-source.js';
import type { RegistryChange } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';

/** Consul's DNS zone: `<svc>.service.consul` and `<tag>.<svc>.service.consul` name the Consul API's default namespace. */
export const CONSUL_ZONE = 'service.consul';

/** What the anonymous caller may read: `everything`, a filter, or nothing at all. */
type Reads = 'everything' | ReadFilter | 'nothing';

export class RegistryDnsSource implements DnsSource {
  /** Each namespace's last change: its SOA serial, so one zone's serial says nothing of another's. */
  private readonly serials = new Map<string, number>();
  private reads: { identity: unknown; reads: Reads } | undefined;
  /** Registry changes and changes of the anonymous identity seen so far: the generation. */
  private changes = 0;

  constructor(
    private readonly registry: Registry,
    private readonly access: AccessControl,
    /** The namespace `service.consul` stands for; undefined: the Consul API is off and the zone is not served. */
    private readonly consulNamespace?: string,
  ) {
    registry.subscribe((change) => {
      this.changes++;
      this.serials.set(namespaceOf(change), change.version);
    });
  }

  zoneOf(name: string): string | undefined {
    const reads = this.anonymousReads();
    if (reads === 'nothing') return undefined;
    const consul = this.consulNamespace;
    if (consul !== undefined && (name === CONSUL_ZONE || name.endsWith(`.${CONSUL_ZONE}`)) && (reads === 'everything' || reads.namespace(consul))) return CONSUL_ZONE;
    return candidateZones(name).find((z) => this.registry.getNamespace(z) !== undefined && (reads === 'everything' || reads.namespace(z)));
  }

  service(zone: string, service: string): DnsService | undefined {
    const consul = zone === CONSUL_ZONE ? this.consulNamespace : undefined;
    const namespace = consul ?? zone;
    const reads = this.anonymousReads();
    if (reads === 'nothing' || (reads !== 'everything' && !reads.service(namespace, service))) return undefined;
    const s = this.registry.getService(namespace, service);
    if (s === undefined) return undefined;
    const instances = this.registry.instancesOf(namespace, service);
    // Only Consul's names select by tag: in other zones `<label>.<svc>` is an SRV target alone.
    const endpoints: DnsEndpoint[] = consul === undefined ? instances : instances.map((i) => ({ ...i, tags: tagsOf(i).map((t) => t.toLowerCase()) }));
    return { ttl: s.config.dns.ttl, endpoints };
  }

  generation(): number {
    // Who may read what decides every answer, so a new anonymous identity is a change too.
    this.anonymousReads();
    return this.changes;
  }

  serial(zone: string): number {
    const namespace = zone === CONSUL_ZONE ? (this.consulNamespace ?? zone) : zone;
    return this.serials.get(namespace) ?? this.registry.getNamespace(namespace)?.revision ?? 0;
  }

  /** Worked out again only when the anonymous identity changes (it is fixed by the config today). */
  private anonymousReads(): Reads {
    const identity = this.access.anonymous;
    if (this.reads === undefined || this.reads.identity !== identity) {
      this.reads = { identity, reads: identity === undefined ? 'nothing' : (readFilter(identity) ?? 'everything') };
      this.changes++;
    }
    return this.reads.reads;
  }
}

function namespaceOf(change: RegistryChange): string {
  if (change.kind === 'instance') return change.instance.namespace;
  if (change.kind === 'service') return change.service.namespace;
  return change.namespace.name;
}
