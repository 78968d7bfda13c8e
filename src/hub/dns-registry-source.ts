/**
 * The hub's DNS answers, read from the registry. DNS carries no credentials, so every query is
 * the anonymous caller: it goes through the same identify → role → scope check as REST and gRPC,
 * and a namespace or service the anonymous policy may not read is refused (audited and counted as
 * any refusal is).
 */
import type { AccessControl } from '../auth/access-control.js';
import type { Caller } from '../auth/caller.js';
import { candidateZones } from '../dns/dns-names.js';
import type { DnsPeer, DnsService, DnsSource } from '../dns/dns-source.js';
import type { Registry } from '../registry/registry.js';

export class RegistryDnsSource implements DnsSource {
  /** One identification per query over UDP, per connection over TCP (the peer object lives that long). */
  private readonly callers = new WeakMap<DnsPeer, Promise<Caller>>();

  constructor(
    private readonly registry: Registry,
    private readonly access: AccessControl,
  ) {}

  async zoneOf(name: string, peer: DnsPeer): Promise<string | undefined> {
    const zone = candidateZones(name).find((z) => this.registry.getNamespace(z) !== undefined);
    if (zone === undefined) return undefined;
    (await this.caller(peer)).require('namespace:read', { namespace: zone });
    return zone;
  }

  async service(namespace: string, service: string, peer: DnsPeer): Promise<DnsService | undefined> {
    (await this.caller(peer)).require('service:read', { namespace, service });
    const s = this.registry.getService(namespace, service);
    if (s === undefined) return undefined;
    return { ttl: s.config.dns.ttl, endpoints: this.registry.instancesOf(namespace, service) };
  }

  serial(): number {
    return this.registry.version;
  }

  private caller(peer: DnsPeer): Promise<Caller> {
    let caller = this.callers.get(peer);
    if (caller === undefined) {
      const site = { api: 'dns', op: peer.transport === 'udp' ? 'query' : 'tcp connection', peer: peer.address };
      caller = this.access.identify(() => ({}), site).then((identity) => this.access.caller(identity, site));
      this.callers.set(peer, caller);
    }
    return caller;
  }
}
