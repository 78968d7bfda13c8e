/**
 * Envoy's retry budget: concurrent retries may be at most `budget_percent` of the requests in
 * flight (active plus pending), but `min_retry_concurrency` retries are always allowed, so that a
 * quiet cluster can still retry. It replaces a fixed max_retries: the allowance grows with load
 * instead of letting retries multiply an overload.
 */

/** Same field names as the service config's `retry` block (src/model/service-config.ts). */
export interface RetryBudgetConfig {
  readonly budget_percent: number;
  readonly min_retry_concurrency: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetConfig = Object.freeze({ budget_percent: 20, min_retry_concurrency: 3 });

export class RetryBudget {
  private readonly percent: number;
  private readonly floor: number;

  constructor(config: Partial<RetryBudgetConfig> = {}) {
    this.percent = config.budget_percent ?? DEFAULT_RETRY_BUDGET.budget_percent;
    this.floor = config.min_retry_concurrency ?? DEFAULT_RETRY_BUDGET.min_retry_concurrency;
  }

  /** How many retries may be in flight with this many requests active and pending. */
  limit(activeRequests: number, pendingRequests = 0): number {
    return Math.max(this.floor, Math.floor(((activeRequests + pendingRequests) * this.percent) / 100));
  }

  /** Whether one more retry may start while `activeRetries` are in flight. */
  allows(activeRetries: number, activeRequests: number, pendingRequests = 0): boolean {
    return activeRetries < this.limit(activeRequests, pendingRequests);
  }
}
