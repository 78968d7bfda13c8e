/**
 * The sidecar's DNS answers, read from its own xDS view (the ClusterManager), so they keep coming
 * while the hub is away. A served name the view does not hold yet is subscribed on demand, as a
 * proxied request would be, and answered once the hub sends it (or NXDOMAIN when the hub has no
 * such service). The zones served: the sidecar's namespace, its upstreams' namespaces, those of
 * `dns.zones`, and any namespace of a cluster it has learnt.
 */
import { OutriggerError } from '../common/errors.js';
import { candidateZones } from '../dns/dns-names.js';
import type { DnsPeer, DnsService, DnsSource } from '../dns/dns-source.js';
import { serviceKey } from '../model/names.js';
import type { ClusterManager, ClusterView } from './cluster-manager.js';

/** The service config's default TTL, for a cached view written before configs carried `dns`. */
const DEFAULT_TTL = 5;

export class ClusterDnsSource implements DnsSource {
  private readonly zones: Set<string>;
  private changes = 0;

  constructor(
    private readonly clusters: ClusterManager,
    zones: readonly string[],
    private readonly lookupTimeoutMs: number,
  ) {
    this.zones = new Set(zones);
    for (const c of clusters.list()) this.learn(c.name);
    clusters.on('change', (change) => {
      this.changes++;
      if (change.view?.status === 'known') this.learn(change.name);
    });
  }

  zoneOf(name: string): string | undefined {
    return candidateZones(name).find((z) => this.zones.has(z));
  }

  async service(namespace: string, service: string, _peer: DnsPeer, held = false): Promise<DnsService | undefined> {
    const name = serviceKey(service, namespace);
    let view = this.clusters.get(name);
    if (view?.status === 'absent' || (held && view === undefined)) return undefined;
    if (view?.config !== undefined && view.endpoints !== undefined) {
      this.clusters.touch(name);
    } else {
      try {
        view = await this.clusters.ensure(name, { timeoutMs: this.lookupTimeoutMs });
      } catch (err) {
        // No such service (or a name that cannot be one): NXDOMAIN. The hub out of reach: SERVFAIL.
        if (err instanceof OutriggerError && (err.code === 'not_found' || err.code === 'invalid_argument')) return undefined;
        throw err;
      }
    }
    return answerOf(view);
  }

  serial(): number {
    return this.changes;
  }

  generation(): number {
    return this.changes;
  }

  private learn(clusterName: string): void {
    const dot = clusterName.indexOf('.');
    if (dot > 0) this.zones.add(clusterName.slice(dot + 1));
  }
}

function answerOf(view: ClusterView): DnsService {
  return { ttl: view.config?.dns?.ttl ?? DEFAULT_TTL, endpoints: view.endpoints ?? [] };
}
