/**
 * Encoded answers, kept so a repeated question skips decoding, answering and encoding: the query's
 * bytes after its ID (flags, question, EDNS0 record) and the transport are the key, and a hit is
 * the stored answer with the query's ID written in.
 *
 * An entry holds up to VARIANTS answers, each built by the responder on its own, so the random
 * subset and order it picks per answer still vary from one client to the next. An entry is good
 * while the source's generation is the one it was built at (any change to what could be answered
 * ends it at once) and for at most MAX_AGE_MS, so a service with more instances than fit in an
 * answer shows new subsets, and the sidecar's on-demand subscriptions are still touched by lookups.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../common/clock.js';
import type { Rcode } from './dns-answer.js';
import type { DnsPeer } from './dns-source.js';

/** Answers kept per question: enough that clients taking the first record spread over the instances. */
export const VARIANTS = 8;
/** The longest an answer is reused, whatever happens: shorter than any record TTL a client caches. */
export const MAX_AGE_MS = 1000;
/** Questions kept at most; the least recently asked go first. */
const MAX_QUESTIONS = 4096;
/** Queries longer than this are answered without the cache (a question and an OPT record fit well within). */
const MAX_KEY_BYTES = 300;

interface Entry {
  readonly generation: number;
  readonly builtAt: number;
  readonly rcode: Rcode;
  readonly answers: Buffer[];
  /** Which stored answer the next hit gets. */
  next: number;
}

export class DnsAnswerCache {
  private readonly entries = new LRUCache<string, Entry>({ max: MAX_QUESTIONS });

  constructor(
    private readonly clock: Clock,
    /** Changes whenever an answer could change. */
    private readonly generation: () => number,
  ) {}

  /** The key of a query, or undefined when it is not to be cached. */
  key(msg: Buffer, peer: DnsPeer): string | undefined {
    if (msg.length < 12 || msg.length > MAX_KEY_BYTES) return undefined;
    return `${peer.transport === 'udp' ? 'u' : 't'}${msg.toString('latin1', 2)}`;
  }

  /** A stored answer to this query with its ID, and its rcode; undefined when there is none to reuse yet. */
  hit(key: string, msg: Buffer): { bytes: Buffer; rcode: Rcode } | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.answers.length < VARIANTS) return undefined;
    if (entry.generation !== this.generation() || this.clock.monotonic() - entry.builtAt > MAX_AGE_MS) {
      this.entries.delete(key);
      return undefined;
    }
    const stored = entry.answers[entry.next]!;
    entry.next = (entry.next + 1) % VARIANTS;
    // A copy: the socket may still hold the last one sent, with another query's ID.
    const bytes = Buffer.allocUnsafe(stored.length);
    stored.copy(bytes);
    bytes[0] = msg[0]!;
    bytes[1] = msg[1]!;
    return { bytes, rcode: entry.rcode };
  }

  /** Keeps an answer built for this key at `generation` (read before the answer was built). */
  store(key: string, generation: number, rcode: Rcode, bytes: Buffer): void {
    let entry = this.entries.get(key);
    const now = this.clock.monotonic();
    if (entry === undefined || entry.generation !== generation || entry.rcode !== rcode || now - entry.builtAt > MAX_AGE_MS) {
      entry = { generation, builtAt: now, rcode, answers: [], next: 0 };
      this.entries.set(key, entry);
    }
    if (entry.answers.length < VARIANTS) entry.answers.push(bytes);
  }

  /** The source's generation now: read before building an answer to store. */
  get current(): number {
    return this.generation();
  }

  /** Questions held now (for tests). */
  get size(): number {
    return this.entries.size;
  }
}
