/**
 * The one answering module, shared by the hub's and the sidecar's DNS servers: a decoded query in,
 * a response (or "not ours") out, read through a DnsSource. No sockets here, no sizes: the server
 * truncates for the transport.
 *
 * Route 53's multivalue rules for A / AAAA: healthy instances only, at most `maxAnswers`, a random
 * subset each time; a host-name address is a CNAME. SRV at `<svc>.<ns>` (Cloud Map) and
 * `_<svc>._tcp.<ns>` (RFC 2782). ANY gets RFC 8482's one synthesized HINFO record.
 */
import * as dnsPacket from 'dns-packet';
import type { Answer, Packet, Question } from 'dns-packet';
import { OutriggerError } from '../common/errors.js';
import { addressLabel, ipFamily, nameInZone, normalizeName } from './dns-names.js';
import type { DnsEndpoint, DnsPeer, DnsSource } from './dns-source.js';

/** RFC 1035's response codes, by the names dns-packet and the metrics use. */
export const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = keyof typeof RCODES;

/** TTL of negative answers (the SOA's minimum): as short as the default record TTL, so a new service shows up fast. */
export const NEGATIVE_TTL = 5;
/** SRV priority of every target: all instances are equal; the weight spreads the load. Cloud Map's value. */
export const SRV_PRIORITY = 1;

export interface DnsAnswer {
  readonly kind: 'answer';
  readonly response: Packet;
  readonly rcode: Rcode;
}

export type DnsOutcome =
  | DnsAnswer
  /** The name is outside every served zone: the server forwards it upstream, or answers REFUSED. */
  | { readonly kind: 'outside' };

export interface DnsResponderOptions {
  source: DnsSource;
  /** Most records in one answer (Route 53 answers at most 8). */
  maxAnswers: number;
  /** [0, 1): which subset of the instances each answer gets. */
  random?: () => number;
}

const QUERY_OPCODE = 0;

export class DnsResponder {
  private readonly random: () => number;

  constructor(private readonly options: DnsResponderOptions) {
    this.random = options.random ?? Math.random;
  }

  /**
   * Answers a decoded query. Never throws for what the query says: a failed lookup is SERVFAIL.
   * A name that cannot be a DNS name Outrigger serves (bytes outside letters, digits, `-`, `_`)
   * is outside every zone.
   */
  async answer(query: Packet, peer: DnsPeer): Promise<DnsOutcome> {
    const opcode = ((query.flags ?? 0) >> 11) & 0xf;
    if (opcode !== QUERY_OPCODE) return this.respond(query, 'NOTIMP');
    const questions = query.questions ?? [];
    if (questions.length !== 1) return this.respond(query, 'FORMERR', { questions: [] });
    const q = questions[0]!;
    if ((q.class ?? 'IN') !== 'IN') return this.respond(query, 'REFUSED');
    const name = normalizeName(q.name);
    if (name === undefined) return { kind: 'outside' };
    try {
      const zone = await this.options.source.zoneOf(name, peer);
      if (zone === undefined) return { kind: 'outside' };
      return await this.inZone(query, q, name, zone, peer);
    } catch (err) {
      const code = err instanceof OutriggerError ? err.code : 'internal';
      // DNS carries no credentials: a namespace the anonymous policy may not read is refused.
      if (code === 'permission_denied' || code === 'unauthenticated') return this.respond(query, 'REFUSED');
      return this.respond(query, 'SERVFAIL');
    }
  }

  private async inZone(query: Packet, q: Question, name: string, zone: string, peer: DnsPeer): Promise<DnsOutcome> {
    const soa = this.soa(zone);
    const nxdomain = (): DnsOutcome => this.respond(query, 'NXDOMAIN', { authoritative: true, authorities: [soa] });
    const nodata = (): DnsOutcome => this.respond(query, 'NOERROR', { authoritative: true, authorities: [soa] });
    const found = (answers: Answer[], additionals: Answer[] = []): DnsOutcome =>
      answers.length === 0 ? nodata() : this.respond(query, 'NOERROR', { authoritative: true, answers, additionals });
    // dns-packet reads qtype 255 as 'ANY', a type its typings leave out.
    const any = (q.type as string) === 'ANY';
    const at = nameInZone(name, zone);
    if (at.kind === 'none') return nxdomain();
    if (at.kind === 'apex') return q.type === 'SOA' ? found([soa]) : any ? found([rfc8482(q.name)]) : nodata();
    const service = await this.options.source.service(zone, at.service, peer, at.kind === 'address');
    if (service === undefined) return nxdomain();
    const healthy = service.endpoints.filter((e) => e.health === 'HEALTHY');
    if (any) return found([rfc8482(q.name)]);
    switch (at.kind) {
      case 'service': {
        const records = this.serviceRecords(q, `${at.service}.${zone}`, healthy, service.ttl);
        return records === undefined ? nodata() : found(...records);
      }
      case 'srv':
        return q.type === 'SRV' ? found(...this.srv(q.name, `${at.service}.${zone}`, healthy, service.ttl)) : nodata();
      case 'address': {
        const matching = healthy.filter((e) => ipFamily(e.address) !== 0 && addressLabel(e.address) === at.label);
        if (matching.length === 0) {
          // Not an SRV target: maybe a tag (`<tag>.<svc>.<zone>`), answered as the service is, over the instances carrying it.
          const tagged = healthy.filter((e) => e.tags?.includes(at.label) === true);
          if (tagged.length === 0) return nxdomain();
          const records = this.serviceRecords(q, `${at.service}.${zone}`, tagged, service.ttl);
          return records === undefined ? nodata() : found(...records);
        }
        const family = q.type === 'A' ? 4 : q.type === 'AAAA' ? 6 : 0;
        const ep = matching.find((e) => ipFamily(e.address) === family);
        return found(ep === undefined ? [] : [addressRecord(q.name, ep.address, service.ttl)]);
      }
    }
  }

  /** The records of a service name for the query's type (answers, additionals); undefined: no data of that type. */
  private serviceRecords(q: Question, serviceName: string, healthy: readonly DnsEndpoint[], ttl: number): [Answer[], Answer[]?] | undefined {
    // A name with a CNAME has no other records (RFC 1034 3.6.2): every type gets the CNAME.
    const alias = this.alias(q.name, healthy, ttl);
    if (alias !== undefined) return [[alias]];
    if (q.type === 'A' || q.type === 'AAAA') return [this.addresses(q.name, q.type, healthy, ttl)];
    if (q.type === 'SRV') return this.srv(q.name, serviceName, healthy, ttl);
    return undefined;
  }

  /** A / AAAA of the healthy instances of that family, at most maxAnswers. */
  private addresses(name: string, type: 'A' | 'AAAA', healthy: readonly DnsEndpoint[], ttl: number): Answer[] {
    const family = type === 'A' ? 4 : 6;
    const ips = [...new Set(healthy.filter((e) => ipFamily(e.address) === family).map((e) => e.address))];
    return this.sample(ips).map((ip) => addressRecord(name, ip, ttl));
  }

  /** A CNAME to one host-name address, when every healthy instance has one (none has an IP to answer with). */
  private alias(name: string, healthy: readonly DnsEndpoint[], ttl: number): Answer | undefined {
    if (healthy.length === 0 || healthy.some((e) => ipFamily(e.address) !== 0)) return undefined;
    return { name, type: 'CNAME', class: 'IN', ttl, data: this.sample(healthy)[0]!.address };
  }

  /** SRV records of a random subset of the healthy instances, and the A / AAAA of their targets. */
  private srv(name: string, serviceName: string, healthy: readonly DnsEndpoint[], ttl: number): [Answer[], Answer[]] {
    const answers: Answer[] = [];
    const glue = new Map<string, Answer>();
    for (const e of this.sample(healthy)) {
      const ip = ipFamily(e.address) !== 0;
      const target = ip ? `${addressLabel(e.address)}.${serviceName}` : e.address;
      answers.push({ name, type: 'SRV', class: 'IN', ttl, data: { priority: SRV_PRIORITY, weight: e.weight, port: e.port, target } });
      if (ip && !glue.has(target)) glue.set(target, addressRecord(target, e.address, ttl));
    }
    return [answers, [...glue.values()]];
  }

  /** At most maxAnswers items, a random subset in random order (a partial Fisher–Yates shuffle). */
  private sample<T>(items: readonly T[]): T[] {
    const out = [...items];
    const n = Math.min(out.length, this.options.maxAnswers);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.random() * (out.length - i));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out.slice(0, n);
  }

  private soa(zone: string): Answer {
    return {
      name: zone,
      type: 'SOA',
      class: 'IN',
      ttl: NEGATIVE_TTL,
      data: {
        mname: zone,
        rname: `hostmaster.${zone}`,
        serial: this.options.source.serial(zone) % 2 ** 32,
        refresh: 3600,
        retry: 600,
        expire: 86_400,
        minimum: NEGATIVE_TTL,
      },
    };
  }

  /**
   * REFUSED for a name outside every zone. A name that is not a DNS name Outrigger can read is
   * not echoed: dns-packet would write its odd bytes back as other labels.
   */
  refuse(query: Packet): DnsAnswer {
    const q = query.questions?.[0];
    const readable = q !== undefined && normalizeName(q.name) !== undefined;
    return this.respond(query, 'REFUSED', readable ? {} : { questions: [] });
  }

  /** A response to the query with this rcode and these records. */
  respond(
    query: Packet,
    rcode: Rcode,
    parts: { questions?: Question[]; answers?: Answer[]; authorities?: Answer[]; additionals?: Answer[]; authoritative?: boolean } = {},
  ): DnsAnswer {
    const flags = query.flags ?? 0;
    // The query's opcode and RD bit are echoed (RFC 1035 4.1.1); AA on answers from a served zone.
    const echoed = flags & (0x7800 | dnsPacket.RECURSION_DESIRED);
    const response: Packet = {
      id: query.id ?? 0,
      type: 'response',
      flags: echoed | (parts.authoritative === true ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | RCODES[rcode],
      questions: parts.questions ?? query.questions ?? [],
      answers: parts.answers ?? [],
      authorities: parts.authorities ?? [],
      additionals: parts.additionals ?? [],
    };
    return { kind: 'answer', response, rcode };
  }
}

function addressRecord(name: string, address: string, ttl: number): Answer {
  return { name, type: ipFamily(address) === 6 ? 'AAAA' : 'A', class: 'IN', ttl, data: address };
}

/** RFC 8482 section 4.2: ANY is answered with one HINFO record, not with everything. */
function rfc8482(name: string): Answer {
  return { name, type: 'HINFO', class: 'IN', ttl: NEGATIVE_TTL, data: { cpu: 'RFC8482', os: '' } };
}

