/**
 * The retry state of one call, shared by HTTP/1.1, HTTP/2/gRPC and TCP: which endpoints it tried
 * (a retry goes elsewhere), how many retries it made (`num_retries`), the breaker's `retries`
 * slot it holds from its first retry to its end (the retry budget: when every endpoint fails,
 * the calls beyond the budget fail at once instead of multiplying the load, Envoy's semantics),
 * and the backoff timer before the next try.
 */
import type { Clock, TimerHandle } from '../common/clock.js';
import type { RandomSource } from '../balancers/picker.js';
import type { ProxyMetrics } from '../metrics/proxy-metrics.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { retryBackoffMs } from './retry-policy.js';

export interface RetryDeps {
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly metrics: ProxyMetrics | undefined;
}

export class RetryState {
  /** Endpoint ids this call tried, in order. */
  readonly tried: string[] = [];
  retries = 0;
  private holdsSlot = false;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly runtime: ClusterRuntime,
    private readonly deps: RetryDeps,
    /** TCP connect attempts are bounded by num_retries only, not by the retry budget. */
    private readonly budgeted = true,
  ) {}

  /** Another try is allowed: the request can be replayed, retries are left, the budget has room. */
  may(replayable: boolean): boolean {
    if (!replayable || this.retries >= this.runtime.retryPolicy.num_retries) return false;
    if (!this.budgeted || this.holdsSlot) return true;
    this.holdsSlot = this.runtime.tryAcquire('retries');
    return this.holdsSlot;
  }

  /** Counts a retry (outrigger_proxy_retries_total). */
  count(): void {
    this.retries++;
    this.deps.metrics?.retries.inc({ cluster: this.runtime.name });
  }

  /** Counts a retry and runs `next` after the backoff. */
  schedule(next: () => void): void {
    this.count();
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      next();
    }, retryBackoffMs(this.retries - 1, this.deps.random));
  }

  /** The call is over: no pending retry, the budget slot goes back. */
  finish(): void {
    if (this.timer !== undefined) {
      this.deps.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.holdsSlot) {
      this.holdsSlot = false;
      this.runtime.release('retries');
    }
  }
}
