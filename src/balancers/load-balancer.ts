/**
 * A balancer per cluster (grpc-js's LoadBalancer): it holds the cluster's endpoints, the live
 * per-endpoint stats and the current picker, and builds a new picker whenever the endpoints, the
 * ejections, the policy or the routing config change. The proxy reads `picker` for each request
 * and reports the call's start and end through the hooks, which keep the stats current.
 *
 * Wrappers (outlier detection) implement the same interface around a child balancer.
 */
import { systemClock, type Clock } from '../common/clock.js';
import { LOCAL_ORIGIN_FAILURE, isFailure } from './call-outcome.js';
import type { Endpoint } from './endpoint.js';
import { DEFAULT_EWMA_DECAY_MS, EndpointStatsStore } from './endpoint-stats.js';
import { EMPTY_PICKER, type LbPolicy, type Picker, type PickerEnv, type RandomSource } from './picker.js';
import { DEFAULT_ROUTING, selectRoutable, type Locality, type RoutingConfig, type RoutingDecision } from './routing.js';

export interface LoadBalancer {
  /** The current picker; replaced (never mutated) when anything it depends on changes. */
  readonly picker: Picker;
  /**
   * Replaces the endpoint set. `ejected`: ids a wrapper has ejected; they count as unhealthy.
   * The array is copied; the set is read during the call only.
   */
  updateEndpoints(endpoints: readonly Endpoint[], ejected?: ReadonlySet<string>): void;
  /** A request (or TCP connection) was sent to the endpoint. */
  onCallStarted(endpoint: Endpoint): void;
  /**
   * It ended: `status` is the HTTP status (gRPC mapped with httpStatusForGrpc) or
   * LOCAL_ORIGIN_FAILURE; `latencyMs` the time to the response, if there was one.
   */
  onCallEnded(endpoint: Endpoint, status: number, latencyMs?: number): void;
  /** An upstream connection to the endpoint opened / closed (for metrics and the admin API). */
  onConnectionOpened(endpoint: Endpoint): void;
  onConnectionClosed(endpoint: Endpoint): void;
  destroy(): void;
}

export interface PolicyBalancerOptions {
  clock?: Clock;
  random?: RandomSource;
  /** This sidecar's zone and region, for zone-aware routing. */
  locality?: Locality;
  routing?: RoutingConfig;
  /** Called after each new picker is installed. */
  onPicker?: (picker: Picker, decision: RoutingDecision) => void;
}

const NO_EJECTIONS: ReadonlySet<string> = new Set();

export class PolicyBalancer implements LoadBalancer {
  readonly stats = new EndpointStatsStore();
  private readonly clock: Clock;
  private readonly env: PickerEnv;
  private readonly locality: Locality;
  private readonly onPicker: ((picker: Picker, decision: RoutingDecision) => void) | undefined;
  private routingConfig: RoutingConfig;
  private all: readonly Endpoint[] = Object.freeze([]);
  private ejected: ReadonlySet<string> = NO_EJECTIONS;
  private current: Picker = EMPTY_PICKER;
  private decision: RoutingDecision = { mode: 'none', endpoints: [], total: 0, healthy: 0 };

  constructor(
    private policy: LbPolicy,
    options: PolicyBalancerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.env = { stats: this.stats, random: options.random ?? Math.random, clock: this.clock };
    this.locality = options.locality ?? {};
    this.routingConfig = options.routing ?? DEFAULT_ROUTING;
    this.onPicker = options.onPicker;
    this.stats.ewmaDecayMs = policy.ewmaDecayMs ?? DEFAULT_EWMA_DECAY_MS;
  }

  get picker(): Picker {
    return this.current;
  }

  /** How the current picker's endpoints were chosen (mode, healthy and total counts). */
  get routing(): RoutingDecision {
    return this.decision;
  }

  get endpoints(): readonly Endpoint[] {
    return this.all;
  }

  get policyName(): string {
    return this.policy.name;
  }

  updateEndpoints(endpoints: readonly Endpoint[], ejected: ReadonlySet<string> = NO_EJECTIONS): void {
    this.all = Object.freeze([...endpoints]);
    this.ejected = ejected.size === 0 ? NO_EJECTIONS : new Set(ejected);
    this.rebuild();
    this.stats.retain(this.all);
  }

  /** Switches policy and/or routing config (a CDS update); the stats carry over. */
  updatePolicy(policy: LbPolicy, routing: RoutingConfig = this.routingConfig): void {
    this.policy = policy;
    this.routingConfig = routing;
    this.stats.ewmaDecayMs = policy.ewmaDecayMs ?? DEFAULT_EWMA_DECAY_MS;
    this.rebuild();
  }

  onCallStarted(endpoint: Endpoint): void {
    this.stats.get(endpoint.id).requestStarted();
  }

  onCallEnded(endpoint: Endpoint, status: number, latencyMs?: number): void {
    const s = this.stats.peek(endpoint.id);
    if (s === undefined) return;
    s.requestEnded();
    const now = this.clock.monotonic();
    // 499: the client went away, which says nothing of the endpoint.
    if (status !== 499) s.outcomes.record(!isFailure(status), now);
    if (latencyMs !== undefined && status !== LOCAL_ORIGIN_FAILURE) {
      s.observeLatency(latencyMs, now, this.stats.ewmaDecayMs);
    }
  }

  onConnectionOpened(endpoint: Endpoint): void {
    this.stats.get(endpoint.id).connectionOpened();
  }

  onConnectionClosed(endpoint: Endpoint): void {
    this.stats.peek(endpoint.id)?.connectionClosed();
  }

  destroy(): void {
    this.stats.detachObservers();
    this.current = EMPTY_PICKER;
  }

  private rebuild(): void {
    this.decision = selectRoutable(this.all, this.routingConfig, this.locality, this.ejected);
    this.stats.detachObservers();
    this.current = this.decision.endpoints.length === 0 ? EMPTY_PICKER : this.policy.buildPicker(this.decision.endpoints, this.env);
    this.onPicker?.(this.current, this.decision);
  }
}
