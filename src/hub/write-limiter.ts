/**
 * Per-identity rate limits on writes, shared by every API: an identity that writes faster than
 * `limits.writes_per_second` (with `limits.write_burst` in hand) is refused with `rate_limited`
 * and told when to retry. Callers without a name of their own (anonymous, auth off) are limited
 * per address.
 */
import type { Identity } from '../auth/identity.js';
import type { Clock } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import { TokenBucketLimiter, type RateLimitOptions } from '../common/rate-limit.js';

export interface WriteRefusal {
  error: OutriggerError;
  retryAfterSeconds: number;
}

export class WriteLimiter {
  private readonly buckets: TokenBucketLimiter | undefined;

  constructor(
    clock: Clock,
    options: RateLimitOptions | undefined,
    private readonly onRefusal: () => void = () => undefined,
  ) {
    this.buckets = options === undefined ? undefined : new TokenBucketLimiter(clock, options);
  }

  /** Takes one write from the identity's allowance; a refusal when it has none left. */
  take(identity: Identity, peer: string): WriteRefusal | undefined {
    if (this.buckets === undefined) return undefined;
    const decision = this.buckets.take(bucketKey(identity, peer));
    if (decision.allowed) return undefined;
    this.onRefusal();
    const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    return {
      error: new OutriggerError('rate_limited', `too many writes by ${identity.name}; retry in ${seconds}s (limits.writes_per_second)`),
      retryAfterSeconds: seconds,
    };
  }

  /**
   * A batch admitted by `take` (one write) holds `writes` writes in all: the rest are taken too,
   * never refused, so the identity's next writes wait until its allowance has refilled. A batch
   * counts as its items, and may still be larger than limits.write_burst.
   */
  chargeBatch(identity: Identity, peer: string, writes: number): void {
    this.buckets?.charge(bucketKey(identity, peer), writes - 1);
  }
}

function bucketKey(identity: Identity, peer: string): string {
  const shared = identity.kind === 'anonymous' || identity.kind === 'open';
  return shared ? `${identity.kind}@${peer}` : `${identity.kind}:${identity.name}`;
}
