import type { Clock, TimerHandle } from './clock.js';

export interface BackoffOptions {
  /** First delay ceiling, ms. */
  initialMs: number;
  /** Largest delay ceiling, ms. */
  maxMs: number;
  multiplier: number;
  /** Source of randomness in [0, 1); injectable so tests are deterministic. */
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 30_000, multiplier: 2 };

/**
 * Exponential backoff with full jitter (AWS architecture blog's "Full Jitter"):
 * delay = random(0, min(max, initial * multiplier^attempt)). Full jitter spreads a crowd of
 * clients that lost the same server so they do not come back in the same instant.
 */
export class Backoff {
  private attempt = 0;
  private timer: TimerHandle | undefined;
  private readonly random: () => number;

  constructor(
    private readonly clock: Clock,
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
  ) {
    this.random = options.random ?? Math.random;
  }

  /** The delay the next schedule() would wait, advancing the attempt counter. */
  nextDelay(): number {
    const ceiling = Math.min(this.options.maxMs, this.options.initialMs * this.options.multiplier ** this.attempt);
    this.attempt++;
    return Math.floor(this.random() * ceiling);
  }

  schedule(fn: () => void): number {
    this.cancel();
    const delay = this.nextDelay();
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      fn();
    }, delay).unref();
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }

  cancel(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  get attempts(): number {
    return this.attempt;
  }
}
