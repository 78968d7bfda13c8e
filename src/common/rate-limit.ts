import type { Clock } from '../common/clock.js';

export interface RateLimitOptions {
  /** Tokens added per second. */
  requestsPerSecond: number;
  /** Bucket size: requests allowed at once after a quiet period. */
  burst: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept at most; beyond it the least recently seen clients are forgotten (they get a full bucket back). */
const DEFAULT_MAX_CLIENTS = 10_000;

/**
 * Token buckets keyed by client. Time comes from the Clock's monotonic reading, so a ManualClock
 * drives it in tests and a wall-clock jump cannot refill or drain buckets. Refill is computed on
 * use: no timers.
 */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly options: RateLimitOptions,
    private readonly maxClients = DEFAULT_MAX_CLIENTS,
  ) {
    if (!(options.requestsPerSecond > 0) || !Number.isFinite(options.requestsPerSecond)) {
      throw new RangeError(`rate limit: requestsPerSecond must be a positive number, got ${options.requestsPerSecond}`);
    }
    if (!Number.isInteger(options.burst) || options.burst < 1) {
      throw new RangeError(`rate limit: burst must be an integer of at least 1, got ${options.burst}`);
    }
    this.perMs = options.requestsPerSecond / 1000;
  }

  /** Takes one token for `key`, or says how long until one is available. */
  take(key: string): RateDecision {
    const now = this.clock.monotonic();
    const bucket = this.refilled(key, now);
    // Re-inserting keeps the map in least-recently-seen order for eviction.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    this.evict();
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / this.perMs) };
  }

  /**
   * Takes `cost` more tokens for `key` without refusing: for work already admitted by `take`
   * that turned out to be worth several (a batch). The bucket may go below zero; later calls
   * then wait until it has refilled, so the rate holds on average.
   */
  charge(key: string, cost: number): void {
    if (!(cost > 0)) return;
    const bucket = this.refilled(key, this.clock.monotonic());
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    this.evict();
    bucket.tokens -= cost;
  }

  /** Clients currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string, now: number): Bucket {
    const b = this.buckets.get(key);
    if (b === undefined) return { tokens: this.options.burst, at: now };
    const elapsed = Math.max(0, now - b.at);
    return { tokens: Math.min(this.options.burst, b.tokens + elapsed * this.perMs), at: now };
  }

  private evict(): void {
    while (this.buckets.size > this.maxClients) {
      const oldest = this.buckets.keys().next();
      if (oldest.done === true) return;
      this.buckets.delete(oldest.value);
    }
  }
}
