/**
 * What the DNS answerer reads: a small interface each side implements over what it knows. The hub
 * reads its registry (with the caller's access check), the sidecar its xDS view, so the sidecar
 * keeps answering from its last good config while the hub is away.
 */
import type { Health } from '../model/health.js';

/** One instance as DNS sees it. */
export interface DnsEndpoint {
  /** An IP literal, or a host name (answered as a CNAME). */
  readonly address: string;
  readonly port: number;
  /** 1–1000: the SRV weight. */
  readonly weight: number;
  readonly health: Health;
  /** Tags a `<tag>.<svc>.<zone>` name selects by (Consul's), lowercase; none when the source has no tags. */
  readonly tags?: readonly string[];
}

export interface DnsService {
  /** Seconds, from the service config's `dns.ttl`. */
  readonly ttl: number;
  readonly endpoints: readonly DnsEndpoint[];
}

/** Where a query comes from: the peer's address, for the access check and the audit line. */
export interface DnsPeer {
  readonly address: string;
  readonly transport: 'udp' | 'tcp';
}

/**
 * Lookups may be synchronous or not. A name the caller may not see is answered as one that does
 * not exist (undefined). Throwing an OutriggerError with `permission_denied` or `unauthenticated`
 * makes the answer REFUSED; anything else SERVFAIL.
 */
export interface DnsSource {
  /** The served zone (namespace) the name falls in, the longest one: undefined when none. Names are lowercase, without the final dot. */
  zoneOf(name: string, peer: DnsPeer): string | undefined | Promise<string | undefined>;
  /**
   * A service of a served zone; undefined when the zone has no such service. `held` asks only for
   * what the source already holds: an SRV target's name (`<address>.<svc>.<ns>`) follows an SRV
   * answer, and a search-list expansion like `google.com.<ns>` must not make a sidecar subscribe.
   */
  service(namespace: string, service: string, peer: DnsPeer, held?: boolean): DnsService | undefined | Promise<DnsService | undefined>;
  /** The SOA serial of a zone: increases when what the zone answers changes, as far as the source knows. */
  serial(namespace: string): number;
  /** Changes whenever any answer could change (any zone, any service, who may read what): encoded answers are reused while it holds. */
  generation(): number;
}
