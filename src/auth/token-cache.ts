/**
 * Answers about bearer tokens (a verified identity, or a refusal), kept so a caller that makes
 * many calls with one token is checked once. Keyed by the SHA-256 of the token, never the token
 * itself; each entry is kept until a time of its own (the token's expiry, a TTL) and the
 * least recently used go first when the cache is full. Time is the Clock's.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../common/clock.js';
import { hashToken } from './token-secret.js';

/** Enough for every sidecar of a large mesh; an entry is a few hundred bytes. */
export const TOKEN_CACHE_ENTRIES = 20_000;

export class TokenCache<V extends object> {
  private readonly entries: LRUCache<string, V>;

  constructor(
    private readonly clock: Clock,
    max = TOKEN_CACHE_ENTRIES,
  ) {
    // ttlResolution 0: no timer of its own, every read asks the Clock.
    this.entries = new LRUCache<string, V>({ max, perf: { now: () => clock.now() }, ttlResolution: 0 });
  }

  /** The key of a token in this cache (and in `inflight` maps beside it). */
  static key(token: string): string {
    return hashToken(token);
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** Keeps the value while the Clock is before `until` (ms since the epoch); a time already reached keeps nothing. */
  set(key: string, value: V, until: number): void {
    // lru-cache keeps an entry while its age is at most its ttl.
    const ttl = Math.floor(until - this.clock.now()) - 1;
    if (ttl >= 1) this.entries.set(key, value, { ttl });
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
