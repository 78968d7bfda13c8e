/**
 * Everything the proxy keeps per cluster, rebuilt when the cluster changes: the balancer (the
 * policy's balancer wrapped in outlier detection, fed by every call's outcome), the circuit
 * breaker with its retry budget, and the endpoints' upstream connections. Requests read
 * `pick()`; the picker itself is replaced by the balancer, never here.
 */
import { CircuitBreaker } from '../balancers/circuit-breaker.js';
import type { Endpoint } from '../balancers/endpoint.js';
import { PolicyBalancer } from '../balancers/load-balancer.js';
import { OutlierDetectionBalancer } from '../balancers/outlier-detection.js';
import type { PickContext, RandomSource } from '../balancers/picker.js';
import type { PolicyRegistry } from '../balancers/policy-registry.js';
import { RetryBudget } from '../balancers/retry-budget.js';
import type { Locality } from '../balancers/routing.js';
import type { Clock } from '../common/clock.js';
import { DeadlineQueue } from '../common/deadline-queue.js';
import { isoTime } from '../common/iso-time.js';
import type { Logger } from '../common/logger.js';
import { ClusterRequestCounters, type ProxyMetrics } from '../metrics/proxy-metrics.js';
import type { ServiceConfig } from '../model/service-config.js';
import { EndpointConnections } from './endpoint-connections.js';
import type { UpstreamCluster } from './upstream-source.js';

/** What an `upstreams` entry may override in the cluster's config. */
export interface UpstreamOverride {
  readonly lb_policy?: string | undefined;
  readonly lb_options?: Readonly<Record<string, unknown>> | undefined;
  readonly timeout_ms?: number | undefined;
}

export interface ClusterRuntimeDeps {
  readonly policies: PolicyRegistry;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly locality: Locality | undefined;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics | undefined;
}

export class ClusterRuntime {
  readonly balancer: PolicyBalancer;
  readonly outlier: OutlierDetectionBalancer;
  readonly breaker: CircuitBreaker;
  config: ServiceConfig;
  endpoints: readonly Endpoint[] = [];
  /** Overall request timeout in ms; 0 = none. */
  timeoutMs = 0;
  /** One queue per timeout duration, one timer each, instead of a timer per request. */
  requestDeadlines: DeadlineQueue | undefined;
  perTryDeadlines: DeadlineQueue | undefined;
  /** When the source was last told the cluster is in use (monotonic ms). */
  lastTouch = -Infinity;
  /** Per-request counters of this cluster, undefined without metrics. */
  readonly requestCounters: ClusterRequestCounters | undefined;
  private readonly connections = new Map<string, EndpointConnections>();
  private readonly deps: ClusterRuntimeDeps;

  constructor(
    readonly name: string,
    cluster: UpstreamCluster,
    private readonly override: UpstreamOverride | undefined,
    deps: ClusterRuntimeDeps,
  ) {
    this.deps = deps;
    this.config = cluster.config;
    this.requestCounters = deps.metrics !== undefined ? new ClusterRequestCounters(deps.metrics, name) : undefined;
    const policy = deps.policies.parse(this.selection(cluster.config));
    this.balancer = new PolicyBalancer(policy, {
      clock: deps.clock,
      random: deps.random,
      ...(deps.locality !== undefined ? { locality: deps.locality } : {}),
      routing: cluster.config,
    });
    this.outlier = new OutlierDetectionBalancer(this.balancer, cluster.config.outlier_detection, {
      clock: deps.clock,
      random: deps.random,
      onEject: (e) => {
        deps.metrics?.ejections.inc({ cluster: name, reason: e.reason });
        deps.logger.info('endpoint ejected', { cluster: name, endpoint: e.id, reason: e.reason, duration_ms: e.durationMs });
      },
      onReadmit: (id) => deps.logger.info('endpoint readmitted', { cluster: name, endpoint: id }),
    });
    this.breaker = new CircuitBreaker(cluster.config.circuit_breakers, budgetOf(cluster.config));
    this.apply(cluster);
  }

  /** A new config and/or endpoint set from the source. Policy errors keep the previous policy. */
  update(cluster: UpstreamCluster): void {
    if (cluster.config !== this.config) {
      try {
        this.balancer.updatePolicy(this.deps.policies.parse(this.selection(cluster.config)), cluster.config);
      } catch (err) {
        this.deps.logger.warn('cluster policy rejected; keeping the previous one', { cluster: this.name, error: String(err) });
      }
      this.outlier.updateConfig(cluster.config.outlier_detection);
      this.breaker.update(cluster.config.circuit_breakers, budgetOf(cluster.config));
      const resized = cluster.config.circuit_breakers.max_connections !== this.config.circuit_breakers.max_connections;
      this.config = cluster.config;
      // Pools are sized once: a new max_connections takes effect on fresh pools; requests in
      // flight finish on the old ones, which close when idle.
      if (resized) this.closeConnections(() => true);
    }
    this.apply(cluster);
  }

  /**
   * An endpoint for one request. `avoid`: endpoints already tried by this request; a retry goes
   * elsewhere when the picker can offer anything else within a few picks.
   */
  pick(context: PickContext | undefined, avoid?: readonly string[]): Endpoint | undefined {
    const picker = this.outlier.picker;
    const first = picker.pick(context);
    if (first === undefined || avoid === undefined || !avoid.includes(first.id)) return first;
    const tries = picker.endpoints.length * 2;
    for (let i = 0; i < tries; i++) {
      const ep = picker.pick(context);
      if (ep !== undefined && !avoid.includes(ep.id)) return ep;
    }
    for (const ep of picker.endpoints) if (!avoid.includes(ep.id)) return ep;
    return first;
  }

  connectionsOf(endpoint: Endpoint): EndpointConnections {
    let c = this.connections.get(endpoint.id);
    if (c === undefined || c.endpoint.address !== endpoint.address || c.endpoint.port !== endpoint.port) {
      c?.destroy();
      c = new EndpointConnections(
        endpoint,
        {
          opened: (ep) => this.balancer.onConnectionOpened(ep),
          closed: (ep) => this.balancer.onConnectionClosed(ep),
        },
        this.config.circuit_breakers.max_connections,
      );
      this.connections.set(endpoint.id, c);
    }
    return c;
  }

  describe(): ClusterDescription {
    const stats = this.balancer.stats;
    const ejections = new Map(this.outlier.ejectionStates().map((s) => [s.id, s] as const));
    return {
      name: this.name,
      policy: this.balancer.policyName,
      routing_mode: this.balancer.routing.mode,
      timeout_ms: this.timeoutMs,
      endpoints: this.endpoints.map((ep) => {
        const s = stats.peek(ep.id)?.snapshot();
        const e = ejections.get(ep.id);
        return {
          id: ep.id,
          address: ep.address,
          port: ep.port,
          health: ep.health,
          weight: ep.weight,
          zone: ep.zone,
          active_requests: s?.activeRequests ?? 0,
          connections: s?.activeConnections ?? 0,
          outlier_state: e?.state ?? 'active',
          ejections: e?.ejections ?? 0,
          readmit_at: isoTime(e?.readmitAt ?? null),
          last_ejection_reason: e?.lastReason ?? null,
        };
      }),
      circuit_breakers: this.breaker.snapshot(),
    };
  }

  async close(): Promise<void> {
    this.outlier.destroy();
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((c) => c.close()));
  }

  private apply(cluster: UpstreamCluster): void {
    this.endpoints = cluster.endpoints;
    this.timeoutMs = this.override?.timeout_ms ?? cluster.config.timeout_ms;
    // A queue whose duration changed is dropped here; its deadlines already queued still fire.
    this.requestDeadlines = this.deadlines(this.requestDeadlines, this.timeoutMs);
    this.perTryDeadlines = this.deadlines(this.perTryDeadlines, cluster.config.retry.per_try_timeout_ms);
    this.outlier.updateEndpoints(cluster.endpoints);
    const present = new Set(cluster.endpoints.map((ep) => ep.id));
    this.closeConnections((id) => !present.has(id));
  }

  private deadlines(current: DeadlineQueue | undefined, ms: number): DeadlineQueue | undefined {
    if (ms <= 0) return undefined;
    return current?.durationMs === ms ? current : new DeadlineQueue(this.deps.clock, ms);
  }

  private closeConnections(which: (id: string) => boolean): void {
    for (const [id, c] of this.connections) {
      if (!which(id)) continue;
      this.connections.delete(id);
      void c.close();
    }
  }

  private selection(config: ServiceConfig): { lb_policy: unknown; lb_options: unknown } {
    if (this.override?.lb_policy !== undefined) return { lb_policy: this.override.lb_policy, lb_options: this.override.lb_options ?? {} };
    return { lb_policy: config.lb_policy, lb_options: config.lb_options };
  }
}

export interface EndpointDescription {
  id: string;
  address: string;
  port: number;
  health: string;
  weight: number;
  zone: string;
  active_requests: number;
  connections: number;
  outlier_state: string;
  ejections: number;
  /** When an ejected endpoint is tried again (ISO-8601). */
  readmit_at: string | null;
  last_ejection_reason: string | null;
}

export interface ClusterDescription {
  name: string;
  policy: string;
  routing_mode: string;
  timeout_ms: number;
  endpoints: EndpointDescription[];
  circuit_breakers: ReturnType<CircuitBreaker['snapshot']>;
}

function budgetOf(config: ServiceConfig): RetryBudget {
  return new RetryBudget({ budget_percent: config.retry.budget_percent, min_retry_concurrency: config.retry.min_retry_concurrency });
}
