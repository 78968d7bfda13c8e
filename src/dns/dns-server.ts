/**
 * A DNS server on UDP and TCP (one port, both transports), answering through a DnsResponder.
 * dns-packet reads and writes the wire format. Around the answer:
 * - a malformed packet, or one that is not a query, is dropped and counted, never a crash;
 * - a per-source token bucket drops floods (counted);
 * - over UDP an answer larger than 512 bytes, or the EDNS0 buffer size the query offers, loses
 *   its additional records, and if still too large is sent truncated (TC, no records) so the
 *   client asks again over TCP, which gets it whole;
 * - a name outside every served zone is forwarded to the upstream resolver when there is one and
 *   the peer is one forwarding is for (`forwardFrom`), else REFUSED. ANY is never forwarded, and
 *   an upstream reply obeys the same size limits, so the server is no amplifier;
 * - over TCP each source holds a few connections at most, each must send a whole query within
 *   the idle time, and a peer that does not read its answers stops being read.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Packet } from 'dns-packet';
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { sourceKey } from '../common/networks.js';
import { TokenBucketLimiter } from '../common/rate-limit.js';
import type { DnsAnswer, DnsResponder, Rcode } from './dns-answer.js';
import { DnsAnswerCache } from './dns-answer-cache.js';
import type { DnsForwarder } from './dns-forwarder.js';
import type { DnsPeer } from './dns-source.js';

/** Why a packet got no answer. */
export type DnsDropReason = 'malformed' | 'not_a_query' | 'rate_limited' | 'unencodable';

/** What the server counts; the hub's and the sidecar's metrics implement it. */
export interface DnsCounters {
  answered(result: Rcode | 'BADVERS' | 'FORWARDED', transport: DnsPeer['transport']): void;
  dropped(reason: DnsDropReason): void;
}

/** RFC 1035's limit for UDP without EDNS0. */
export const PLAIN_UDP_SIZE = 512;
/** The most this server sends over UDP whatever the EDNS0 size offered: DNS Flag Day 2020's value, below common MTUs. */
export const MAX_UDP_SIZE = 1232;
/** A TCP connection that completes no query for this long is closed, however slowly it trickles bytes. */
const TCP_IDLE_MS = 10_000;
/** TCP connections one source address may hold at once: a resolver needs one or two. */
export const MAX_TCP_PER_SOURCE = 16;

export interface DnsServerOptions {
  responder: DnsResponder;
  forwarder?: DnsForwarder;
  host: string;
  port: number;
  clock: Clock;
  logger: Logger;
  counters?: DnsCounters;
  rateLimit: { queriesPerSecond: number; burst: number };
  maxTcpConnections: number;
  /**
   * Forward NXDOMAIN answers' queries too: the sidecar as a pod's resolver knows only mesh names,
   * and a name in its namespace it does not know may still be a Kubernetes Service.
   */
  forwardUnknown?: boolean;
  /** Peers whose names outside the served zones are forwarded; everyone else gets REFUSED. */
  forwardFrom: net.BlockList;
  /** Loopback peers are not rate-limited: the sidecar's are its own pod, which may ask a lot. */
  exemptLoopback?: boolean;
  /** The source's generation (see DnsSource): when given, answers are reused through a DnsAnswerCache. */
  generation?: () => number;
}

const NO_COUNTERS: DnsCounters = { answered: () => undefined, dropped: () => undefined };

export class DnsServer {
  private readonly limiter: TokenBucketLimiter;
  private readonly counters: DnsCounters;
  private udp: dgram.Socket | undefined;
  private tcp: net.Server | undefined;
  private readonly connections = new Set<net.Socket>();
  private readonly perSource = new Map<string, number>();
  private boundPort = 0;
  private readonly cache: DnsAnswerCache | undefined;

  constructor(private readonly options: DnsServerOptions) {
    this.limiter = new TokenBucketLimiter(options.clock, { requestsPerSecond: options.rateLimit.queriesPerSecond, burst: options.rateLimit.burst });
    this.counters = options.counters ?? NO_COUNTERS;
    this.cache = options.generation !== undefined ? new DnsAnswerCache(options.clock, options.generation) : undefined;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Binds UDP, then TCP on the same port (with port 0, tries again if TCP finds the picked port taken). */
  async start(): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const udp = await this.bindUdp(this.options.port);
      const port = udp.address().port;
      try {
        this.tcp = await this.bindTcp(port);
      } catch (err) {
        udp.close();
        if (this.options.port === 0 && attempt < 5 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        throw err;
      }
      this.udp = udp;
      this.boundPort = port;
      return port;
    }
  }

  async stop(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    for (const c of this.connections) c.destroy();
    this.connections.clear();
    await Promise.all([
      udp === undefined ? undefined : new Promise<void>((resolve) => udp.close(() => resolve())),
      tcp === undefined ? undefined : new Promise<void>((resolve) => tcp.close(() => resolve())),
    ]);
  }

  private bindUdp(port: number): Promise<dgram.Socket> {
    const socket = dgram.createSocket(net.isIP(this.options.host) === 6 ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, this.options.host, () => {
        socket.off('error', reject);
        socket.on('error', (err) => this.options.logger.warn('DNS UDP socket error', { err: err.message }));
        socket.on('message', (msg, rinfo) => void this.onUdp(socket, msg, rinfo));
        resolve(socket);
      });
    });
  }

  private bindTcp(port: number): Promise<net.Server> {
    const server = net.createServer((socket) => this.onTcpConnection(socket));
    server.maxConnections = this.options.maxTcpConnections;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.options.host, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  private async onUdp(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    const reply = await this.handle(msg, { address: rinfo.address, transport: 'udp' });
    if (reply === undefined || this.udp !== socket) return;
    try {
      socket.send(reply, rinfo.port, rinfo.address);
    } catch (err) {
      this.options.logger.debug('DNS answer not sent', { err: (err as Error).message, peer: rinfo.address });
    }
  }

  private onTcpConnection(socket: net.Socket): void {
    const address = socket.remoteAddress ?? '';
    const held = this.perSource.get(address) ?? 0;
    if (held >= MAX_TCP_PER_SOURCE) {
      socket.destroy();
      return;
    }
    this.perSource.set(address, held + 1);
    this.connections.add(socket);
    const peer: DnsPeer = { address, transport: 'tcp' };
    const clock = this.options.clock;
    let idle: TimerHandle | undefined;
    // Armed at the start and after each whole query, never by a partial one: trickling bytes buys no time.
    const arm = (): void => {
      clock.clearTimeout(idle);
      idle = clock.setTimeout(() => socket.destroy(), TCP_IDLE_MS);
    };
    let buffered: Buffer = Buffer.alloc(0);
    arm();
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      // RFC 1035 4.2.2: each message is preceded by its two-byte length; several may be in flight (RFC 7766).
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const msg = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        arm();
        void this.handle(msg, peer).then((reply) => {
          if (reply === undefined || socket.destroyed) return;
          const framed = Buffer.alloc(2 + reply.length);
          framed.writeUInt16BE(reply.length, 0);
          reply.copy(framed, 2);
          // A peer that does not read its answers is not read either, so they cannot pile up here.
          if (!socket.write(framed) && !socket.isPaused()) {
            socket.pause();
            socket.once('drain', () => socket.resume());
          }
        });
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clock.clearTimeout(idle);
      this.connections.delete(socket);
      const left = (this.perSource.get(address) ?? 1) - 1;
      if (left > 0) this.perSource.set(address, left);
      else this.perSource.delete(address);
    });
  }

  /** The bytes to send back, or undefined to send nothing. Never throws. */
  private async handle(msg: Buffer, peer: DnsPeer): Promise<Buffer | undefined> {
    if (!(this.options.exemptLoopback === true && isLoopback(peer.address)) && !this.limiter.take(sourceKey(peer.address)).allowed) return this.drop('rate_limited');
    const cache = this.cache;
    const key = cache?.key(msg, peer);
    let generation = 0;
    if (cache !== undefined && key !== undefined) {
      // The same bytes (but the ID) were a well-formed query answered before: no decoding needed.
      const hit = cache.hit(key, msg);
      if (hit !== undefined) {
        this.counters.answered(hit.rcode, peer.transport);
        return hit.bytes;
      }
      generation = cache.current;
    }
    let query: Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return this.drop('malformed');
    }
    if (query.type !== 'query') return this.drop('not_a_query');
    const ednsError = this.ednsError(query, peer);
    if (ednsError !== undefined) return ednsError;
    try {
      const outcome = await this.options.responder.answer(query, peer);
      // The sidecar as a pod's resolver: a name of its namespaces it cannot answer (not a mesh
      // service, or the hub is away) may still be a Kubernetes Service the upstream knows.
      const unknown = outcome.kind === 'answer' && this.options.forwardUnknown === true && FORWARD_UNKNOWN.has(outcome.rcode);
      if (outcome.kind === 'answer' && !unknown) {
        const bytes = this.encode(query, outcome, peer);
        // Only what the served zones say: a failure (the hub away) or a refusal is not kept.
        if (key !== undefined && CACHED_RCODES.has(outcome.rcode)) cache!.store(key, generation, outcome.rcode, bytes);
        return bytes;
      }
      const forwarder = this.options.forwarder;
      const mayForward = forwarder !== undefined && this.options.forwardFrom.check(peer.address, net.isIP(peer.address) === 6 ? 'ipv6' : 'ipv4') && !asksAny(query);
      if (!mayForward) return this.encode(query, outcome.kind === 'answer' ? outcome : this.options.responder.refuse(query), peer);
      const reply = await forwarder.forward(msg, peer.transport);
      if (reply === undefined) return this.encode(query, outcome.kind === 'answer' ? outcome : this.options.responder.respond(query, 'SERVFAIL'), peer);
      this.counters.answered('FORWARDED', peer.transport);
      // RA: this server offers recursion (through its upstream), whatever the upstream said of itself.
      reply[3] = reply[3]! | 0x80;
      // The upstream's answer obeys this server's size limit too: over it, TC and no records.
      if (reply.length > sizeLimit(query, peer)) return dnsPacket.encode({ id: query.id, type: 'response', flags: (reply.readUInt16BE(2) & 0x7fff) | dnsPacket.TRUNCATED_RESPONSE, questions: query.questions ?? [], additionals: ednsOf(query) });
      return reply;
    } catch (err) {
      // dns-packet refuses to write what a decoded query held (a name it cannot encode): nothing to answer with.
      this.options.logger.debug('DNS query not answered', { err: (err as Error).message, peer: peer.address });
      return this.drop('unencodable');
    }
  }

  private encode(query: Packet, outcome: DnsAnswer, peer: DnsPeer): Buffer {
    const response: Packet = { ...outcome.response };
    // RA: recursion is available exactly when names outside the served zones are forwarded.
    if (this.options.forwarder !== undefined) response.flags = (response.flags ?? 0) | dnsPacket.RECURSION_AVAILABLE;
    const edns = ednsOf(query);
    response.additionals = [...(response.additionals ?? []), ...edns];
    const limit = sizeLimit(query, peer);
    let bytes: Buffer = dnsPacket.encode(response);
    // RFC 2181 9: additional records are a courtesy, dropped first and without TC.
    if (bytes.length > limit) bytes = dnsPacket.encode({ ...response, additionals: edns });
    if (bytes.length > limit) {
      // The client takes TC as "ask again over TCP", so the records are left out rather than cut.
      bytes = dnsPacket.encode({ ...response, flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: edns });
    }
    this.counters.answered(outcome.rcode, peer.transport);
    return bytes;
  }

  /**
   * RFC 6891 6.1.1 and 6.1.3: a query with more than one OPT record is a FORMERR, and one whose
   * EDNS version is above 0 (the only one there is) gets BADVERS with this server's version.
   */
  private ednsError(query: Packet, peer: DnsPeer): Buffer | undefined {
    const opts = (query.additionals ?? []).filter((a) => a.type === 'OPT');
    if (opts.length > 1) {
      this.counters.answered('FORMERR', peer.transport);
      return dnsPacket.encode({ ...this.options.responder.respond(query, 'FORMERR').response, additionals: [] });
    }
    if (opts.length === 1 && (opts[0]!.ednsVersion ?? 0) !== 0) {
      this.counters.answered('BADVERS', peer.transport);
      // BADVERS is 16: its upper eight bits (1) go in the OPT record, its lower four (0) in the header.
      const response = this.options.responder.respond(query, 'NOERROR').response;
      return dnsPacket.encode({ ...response, additionals: [{ ...ednsOf(query)[0]!, extendedRcode: BADVERS >> 4 } as dnsPacket.Answer] });
    }
    return undefined;
  }

  private drop(reason: DnsDropReason): undefined {
    this.counters.dropped(reason);
    return undefined;
  }
}

/** RFC 6891's extended rcode for an EDNS version this server does not speak. */
const BADVERS = 16;

/** Answers worth keeping: names found, names not there. */
const CACHED_RCODES: ReadonlySet<Rcode> = new Set(['NOERROR', 'NXDOMAIN']);

/** Rcodes of the sidecar's own lookup that a pod's resolver sends on to the upstream. */
const FORWARD_UNKNOWN: ReadonlySet<Rcode> = new Set(['NXDOMAIN', 'SERVFAIL', 'REFUSED']);

function asksAny(query: Packet): boolean {
  // dns-packet reads qtype 255 as 'ANY', a type its typings leave out.
  return (query.questions ?? []).some((q) => (q.type as string) === 'ANY');
}

/** This server's OPT record when the query had one (EDNS0 answers EDNS0). */
function ednsOf(query: Packet): Packet['additionals'] & object {
  const opt = (query.additionals ?? []).some((a) => a.type === 'OPT');
  return opt ? [{ name: '.', type: 'OPT', udpPayloadSize: MAX_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [];
}

/** The most bytes an answer to this query may take: 512 over UDP, or the EDNS0 size offered (at most 1232); 64 KiB over TCP. */
function sizeLimit(query: Packet, peer: DnsPeer): number {
  if (peer.transport === 'tcp') return 0xffff;
  const opt = (query.additionals ?? []).find((a) => a.type === 'OPT');
  return opt === undefined ? PLAIN_UDP_SIZE : Math.min(MAX_UDP_SIZE, Math.max(PLAIN_UDP_SIZE, opt.udpPayloadSize ?? PLAIN_UDP_SIZE));
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
