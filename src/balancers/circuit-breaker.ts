/**
 * Per-cluster circuit breaking, Envoy's thresholds: a cap on each of connections, pending
 * requests (queued for a connection), active requests and active retries. The proxy calls
 * tryAcquire before using a resource — false means "overflow: fail fast" — and release exactly
 * once for each successful acquire.
 *
 * Active requests count every attempt, retries included; a retry also holds `retries`. With a
 * RetryBudget the retry limit follows the budget (Envoy: a budget replaces max_retries).
 */
import { RetryBudget } from './retry-budget.js';

export const RESOURCES = ['connections', 'pending_requests', 'requests', 'retries'] as const;
export type Resource = (typeof RESOURCES)[number];

/** Same field names as the service config's `circuit_breakers` (src/model/service-config.ts). */
export interface CircuitBreakerThresholds {
  readonly max_connections: number;
  readonly max_pending_requests: number;
  readonly max_requests: number;
  readonly max_retries: number;
}

/** Envoy's defaults. */
export const DEFAULT_CIRCUIT_BREAKERS: CircuitBreakerThresholds = Object.freeze({
  max_connections: 1024,
  max_pending_requests: 1024,
  max_requests: 1024,
  max_retries: 3,
});

export interface ResourceState {
  active: number;
  limit: number;
  /** At or over the limit: the next tryAcquire fails. */
  open: boolean;
  /** tryAcquire calls refused so far (Envoy's *_overflow counters). */
  overflows: number;
}

const CONNECTIONS = 0;
const PENDING = 1;
const REQUESTS = 2;
const RETRIES = 3;

function indexOf(resource: Resource): number {
  switch (resource) {
    case 'connections':
      return CONNECTIONS;
    case 'pending_requests':
      return PENDING;
    case 'requests':
      return REQUESTS;
    case 'retries':
      return RETRIES;
  }
}

export class CircuitBreaker {
  private readonly active = new Float64Array(4);
  private readonly overflows = new Float64Array(4);
  private readonly max = new Float64Array(4);
  private budget: RetryBudget | undefined;

  constructor(thresholds: Partial<CircuitBreakerThresholds> = {}, retryBudget?: RetryBudget) {
    this.update(thresholds, retryBudget);
  }

  /** New thresholds (a CDS update); counts in flight are kept. */
  update(thresholds: Partial<CircuitBreakerThresholds>, retryBudget?: RetryBudget): void {
    const t = { ...DEFAULT_CIRCUIT_BREAKERS, ...thresholds };
    this.max[CONNECTIONS] = t.max_connections;
    this.max[PENDING] = t.max_pending_requests;
    this.max[REQUESTS] = t.max_requests;
    this.max[RETRIES] = t.max_retries;
    this.budget = retryBudget;
  }

  /** The current limit of a resource; for retries under a budget, it follows the load. */
  limit(resource: Resource): number {
    const i = indexOf(resource);
    if (i === RETRIES && this.budget !== undefined) return this.budget.limit(this.active[REQUESTS]!, this.active[PENDING]!);
    return this.max[i]!;
  }

  tryAcquire(resource: Resource): boolean {
    const i = indexOf(resource);
    if (this.active[i]! >= this.limit(resource)) {
      this.overflows[i]!++;
      return false;
    }
    this.active[i]!++;
    return true;
  }

  release(resource: Resource): void {
    const i = indexOf(resource);
    if (this.active[i]! > 0) this.active[i]!--;
  }

  activeCount(resource: Resource): number {
    return this.active[indexOf(resource)]!;
  }

  isOpen(resource: Resource): boolean {
    return this.active[indexOf(resource)]! >= this.limit(resource);
  }

  /** True when any resource is at its limit. */
  get open(): boolean {
    return RESOURCES.some((r) => this.isOpen(r));
  }

  state(resource: Resource): ResourceState {
    const i = indexOf(resource);
    const limit = this.limit(resource);
    return { active: this.active[i]!, limit, open: this.active[i]! >= limit, overflows: this.overflows[i]! };
  }

  /** Every resource's state, for metrics and the admin API. */
  snapshot(): Record<Resource, ResourceState> {
    return {
      connections: this.state('connections'),
      pending_requests: this.state('pending_requests'),
      requests: this.state('requests'),
      retries: this.state('retries'),
    };
  }
}
