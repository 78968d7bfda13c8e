/**
 * Everything the proxy keeps per cluster, rebuilt when the cluster changes: the balancer (the
 * policy's balancer wrapped in outlier detection, fed by every call's outcome), the circuit
 * breaker with its retry budget, and the endpoints' upstream connections. Its state is private:
 * calls go through `startAttempt()` (an AttemptHandle owning the try's breaker slot and outlier
 * accounting) and a ClusterCall; the picker itself is replaced by the balancer, never here.
 */
import { CircuitBreaker, type Resource } from '../balancers/circuit-breaker.js';
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
import type { Deadline } from '../common/deadline-queue.js';
import { AttemptHandle } from './attempt-handle.js';
import { EndpointConnections } from './endpoint-connections.js';
import { ProxyError } from './proxy-errors.js';
import { RequestLog, type LoggedCall, type RequestRecord } from './request-log.js';
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
  private readonly balancer: PolicyBalancer;
  private readonly outlier: OutlierDetectionBalancer;
  private readonly breaker: CircuitBreaker;
  private config: ServiceConfig;
  private endpoints: readonly Endpoint[] = [];
  /** Overall request timeout in ms; 0 = none. */
  private timeout = 0;
  /** One queue per timeout duration, one timer each, instead of a timer per request. */
  private requestDeadlines: DeadlineQueue | undefined;
  private perTryDeadlines: DeadlineQueue | undefined;
  /** When the source was last told the cluster is in use (monotonic ms). */
  private lastTouch = -Infinity;
  /** Per-request counters of this cluster, undefined without metrics. */
  private readonly requestCounters: ClusterRequestCounters | undefined;
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

  /** The retry policy of the cluster's config. */
  get retryPolicy(): ServiceConfig['retry'] {
    return this.config.retry;
  }

  /** Overall request timeout in ms (an upstream entry's own wins); 0 = none. */
  get timeoutMs(): number {
    return this.timeout;
  }

  /** The overall deadline of a request, on the cluster's shared queue; undefined without a timeout. */
  requestDeadline(onExpire: () => void): Deadline | undefined {
    return this.requestDeadlines?.add(onExpire);
  }

  /** The deadline of one try (`per_try_timeout_ms`); undefined without one. */
  perTryDeadline(onExpire: () => void): Deadline | undefined {
    return this.perTryDeadlines?.add(onExpire);
  }

  /** A breaker slot for a call (ClusterCall and RetryState take and give back theirs). */
  tryAcquire(resource: Resource): boolean {
    return this.breaker.tryAcquire(resource);
  }

  release(resource: Resource): void {
    this.breaker.release(resource);
  }

  /** The cluster's last requests (the sidecar dashboard's tap). */
  readonly recent = new RequestLog(100);

  get clock(): Clock {
    return this.deps.clock;
  }

  /**
   * A request is over: counted in outrigger_proxy_requests_total and kept in `recent` (one record;
   * `call` is undefined when the breaker refused it). `status` 0: reset without a response.
   */
  finishRequest(protocol: 'http' | 'http2' | 'grpc', status: number, call: LoggedCall | undefined, method: string, authority: string, path: string): void {
    this.requestCounters?.inc(protocol, status);
    const clock = this.deps.clock;
    const durationMs = call !== undefined ? clock.monotonic() - call.startedAt : 0;
    if (call !== undefined) this.requestCounters?.observe(durationMs);
    const tried = call?.retry.tried;
    this.recent.push({
      at: clock.now(),
      protocol,
      method,
      authority,
      path,
      status,
      endpoint: tried !== undefined && tried.length > 0 ? tried[tried.length - 1]! : '',
      durationMs,
      retries: call?.retry.retries ?? 0,
    });
  }

  /** True at most once a second: time to tell the source the cluster is in use. */
  touchDue(now: number, intervalMs: number): boolean {
    if (now - this.lastTouch < intervalMs) return false;
    this.lastTouch = now;
    return true;
  }

  /**
   * One try of a call: an endpoint picked while avoiding those in `tried` (when the picker can
   * offer anything else within a few picks), recorded in `tried`, with a `pending_requests` slot
   * when `pending` says the try must wait for a connection, and its outlier accounting started;
   * or `no_healthy_upstream`, or `overflow` on pending_requests (nothing is then counted).
   */
  startAttempt(context: PickContext | undefined, tried: string[], pending: boolean | ((connections: EndpointConnections) => boolean) = false): AttemptHandle | ProxyError {
    const endpoint = this.pick(context, tried);
    if (endpoint === undefined) return new ProxyError('no_healthy_upstream', `cluster ${this.name}: no healthy endpoint`);
    const connections = this.connectionsOf(endpoint);
    const waits = typeof pending === 'function' ? pending(connections) : pending;
    if (waits && !this.breaker.tryAcquire('pending_requests')) {
      return new ProxyError('overflow', `cluster ${this.name}: max_pending_requests reached`, 'pending_requests');
    }
    tried.push(endpoint.id);
    return new AttemptHandle(endpoint, connections, this.breaker, this.outlier, this.deps.clock, waits);
  }

  private pick(context: PickContext | undefined, avoid: readonly string[]): Endpoint | undefined {
    const picker = this.outlier.picker;
    const first = picker.pick(context);
    if (first === undefined || avoid.length === 0 || !avoid.includes(first.id)) return first;
    const tries = picker.endpoints.length * 2;
    for (let i = 0; i < tries; i++) {
      const ep = picker.pick(context);
      if (ep !== undefined && !avoid.includes(ep.id)) return ep;
    }
    for (const ep of picker.endpoints) if (!avoid.includes(ep.id)) return ep;
    return first;
  }

  private connectionsOf(endpoint: Endpoint): EndpointConnections {
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
    const now = this.deps.clock.monotonic();
    return {
      name: this.name,
      policy: this.balancer.policyName,
      routing_mode: this.balancer.routing.mode,
      timeout_ms: this.timeout,
      endpoints: this.endpoints.map((ep) => {
        const s = stats.peek(ep.id)?.snapshot();
        const window = stats.peek(ep.id)?.outcomes.read(now);
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
          latency_ewma_ms: s?.ewmaLatencyMs ?? null,
          requests_last_minute: window?.requests ?? 0,
          success_rate_last_minute: window?.successRate ?? null,
          outlier_state: e?.state ?? 'active',
          ejections: e?.ejections ?? 0,
          readmit_at: isoTime(e?.readmitAt ?? null),
          last_ejection_reason: e?.lastReason ?? null,
        };
      }),
      circuit_breakers: this.breaker.snapshot(),
      recent_requests: this.recent.recent().map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
    };
  }

  async close(): Promise<void> {
    this.outlier.destroy();
    this.requestCounters?.close();
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((c) => c.close()));
  }

  private apply(cluster: UpstreamCluster): void {
    this.endpoints = cluster.endpoints;
    this.timeout = this.override?.timeout_ms ?? cluster.config.timeout_ms;
    // A queue whose duration changed is dropped here; its deadlines already queued still fire.
    this.requestDeadlines = this.deadlines(this.requestDeadlines, this.timeout);
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
  /** Peak-EWMA response latency; null before the first response. */
  latency_ewma_ms: number | null;
  requests_last_minute: number;
  /** Share of the last minute's requests that did not fail (5xx or no response); null with none. */
  success_rate_last_minute: number | null;
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
  /** Newest first, at most 100. */
  recent_requests: Array<Omit<RequestRecord, 'at'> & { at: string }>;
}

function budgetOf(config: ServiceConfig): RetryBudget {
  return new RetryBudget({ budget_percent: config.retry.budget_percent, min_retry_concurrency: config.retry.min_retry_concurrency });
}
