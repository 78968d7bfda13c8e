/**
 * Eureka's self-preservation measure: the renewals seen over a sliding window against the
 * renewals expected in it. A per-sweep count of expiring leases misses a partition whose
 * leases ran out spread over time; the renewal rate drops as soon as the renewals stop.
 */

/** A lease whose TTL runs, as far as the rate is concerned. */
interface Renewer {
  /** When the lease started to be expected to renew (registration, dropped Session, renewal after expiry). */
  since: number;
  last: number;
  /** Smoothed gap between renewals, bounded by the TTL (a lease must renew at least that often). */
  intervalMs: number;
}

export interface RenewalMeasure {
  /** Renewals seen in the last window. */
  seen: number;
  /** Renewals the running leases should have made in it. */
  expected: number;
  /** Leases whose TTL runs. */
  renewers: number;
}

const BUCKETS_PER_WINDOW = 15;
/** Weight of the newest gap in the smoothed interval, so one quick double renewal does not skew it. */
const SMOOTHING = 0.5;

export class RenewalRate {
  private readonly renewers = new Map<string, Renewer>();
  /** Renewal counts per bucket, oldest first. */
  private readonly buckets: Array<{ start: number; count: number }> = [];
  private readonly bucketMs: number;

  constructor(private readonly windowMs: number) {
    this.bucketMs = Math.max(1, Math.floor(windowMs / BUCKETS_PER_WINDOW));
  }

  /** A lease starts running; this counts as a renewal (the owner was heard from just now). */
  start(id: string, ttlMs: number, now: number): void {
    this.renewers.set(id, { since: now, last: now, intervalMs: ttlMs });
    this.count(now);
  }

  renewed(id: string, ttlMs: number, now: number): void {
    const r = this.renewers.get(id);
    if (r === undefined) return this.start(id, ttlMs, now);
    const gap = now - r.last;
    const smoothed = SMOOTHING * gap + (1 - SMOOTHING) * r.intervalMs;
    r.intervalMs = Math.min(ttlMs, Math.max(ttlMs / 10, 1, smoothed));
    r.last = now;
    this.count(now);
  }

  /** The lease no longer runs: held by a Session, expired or removed. */
  forget(id: string): void {
    this.renewers.delete(id);
  }

  measure(now: number): RenewalMeasure {
    this.prune(now);
    let seen = 0;
    for (const b of this.buckets) seen += b.count;
    let expected = 0;
    for (const r of this.renewers.values()) expected += Math.min(this.windowMs, Math.max(0, now - r.since)) / r.intervalMs;
    return { seen, expected, renewers: this.renewers.size };
  }

  private count(now: number): void {
    const start = now - (now % this.bucketMs);
    const last = this.buckets[this.buckets.length - 1];
    if (last !== undefined && last.start === start) last.count++;
    else this.buckets.push({ start, count: 1 });
  }

  private prune(now: number): void {
    while (this.buckets.length > 0 && this.buckets[0]!.start + this.bucketMs <= now - this.windowMs) this.buckets.shift();
  }
}
