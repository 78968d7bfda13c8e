/**
 * Outlier detection as a wrapper around a child balancer (grpc-js's
 * load-balancer-outlier-detection.ts pattern, Envoy's semantics): outcomes arrive through the
 * on-call-ended hook, ejected endpoints are handed to the child as ejected (the child rebuilds its
 * picker without them, and counts them as unhealthy for the panic threshold), and the wrapper's
 * picker is the child's.
 *
 * - consecutive_5xx: that many 5xx or local-origin failures in a row eject the endpoint.
 * - consecutive_gateway_failure: that many 502/503/504 or local-origin failures in a row.
 * - success_rate (optional), every interval: among endpoints with at least request_volume calls
 *   in the interval, if there are at least minimum_hosts of them, eject those whose success rate
 *   is below mean − stdev_factor × stdev.
 * - Ejection time = base_ejection_time × the endpoint's ejection count, capped at
 *   max(base, max_ejection_time). The count drops by one each interval the endpoint spends
 *   active (not ejected, not half-open), as in Envoy.
 * - At most max_ejection_percent of the cluster's endpoints are ejected at once, but one may
 *   always be (Envoy's rule); 0 disables ejection.
 * - Half-open: when its ejection time is over the endpoint is readmitted; its next call decides —
 *   a success makes it active again (counters reset), a failure ejects it again at once (for
 *   longer, since its count went up), as long as the ejection cap allows.
 *
 * Every timer goes through the injected Clock; enforcement percentages draw from the injected
 * random source.
 */
import { systemClock, type Clock, type TimerHandle } from '../common/clock.js';
import { isFailure, isGatewayFailure } from './call-outcome.js';
import type { Endpoint } from './endpoint.js';
import type { LoadBalancer } from './load-balancer.js';
import type { Picker, RandomSource } from './picker.js';

/** Same field names as the service config's `outlier_detection` (src/model/service-config.ts). */
export interface OutlierDetectionConfig {
  readonly enabled: boolean;
  readonly consecutive_5xx: number;
  readonly consecutive_gateway_failure: number;
  readonly interval_ms: number;
  readonly base_ejection_time_ms: number;
  readonly max_ejection_time_ms: number;
  readonly max_ejection_percent: number;
  readonly success_rate?:
    | {
        readonly minimum_hosts: number;
        readonly request_volume: number;
        /** Multiplies the stdev directly (Envoy's 1900 is 1.9 here). */
        readonly stdev_factor: number;
      }
    | undefined;
  /** Percent chance that a detected outlier is actually ejected (Envoy's enforcing_*); default 100. */
  readonly enforcing_consecutive_5xx?: number | undefined;
  readonly enforcing_consecutive_gateway_failure?: number | undefined;
  readonly enforcing_success_rate?: number | undefined;
}

export const DEFAULT_OUTLIER_DETECTION: OutlierDetectionConfig = Object.freeze({
  enabled: true,
  consecutive_5xx: 5,
  consecutive_gateway_failure: 5,
  interval_ms: 10_000,
  base_ejection_time_ms: 30_000,
  max_ejection_time_ms: 300_000,
  max_ejection_percent: 10,
});

export const DEFAULT_SUCCESS_RATE = Object.freeze({ minimum_hosts: 5, request_volume: 100, stdev_factor: 1.9 });

export type EjectionReason = 'consecutive_5xx' | 'consecutive_gateway_failure' | 'success_rate' | 'half_open_failure';
export type OutlierState = 'active' | 'ejected' | 'half_open';

/** One endpoint's outlier state, as the admin API shows it. */
export interface EjectionState {
  id: string;
  state: OutlierState;
  /** Times ejected since the endpoint appeared. */
  ejections: number;
  /** The multiplier of the next (or current) ejection time. */
  multiplier: number;
  /** Wall-clock ms of the latest ejection, or null. */
  ejectedAt: number | null;
  /** Wall-clock ms at which the current ejection ends, or null when not ejected. */
  readmitAt: number | null;
  lastReason: EjectionReason | null;
  consecutive5xx: number;
  consecutiveGatewayFailures: number;
  /** Calls counted in the current interval, for the success rate. */
  intervalSuccesses: number;
  intervalFailures: number;
}

export interface EjectionEvent {
  id: string;
  reason: EjectionReason;
  durationMs: number;
  ejections: number;
}

export interface OutlierDetectionOptions {
  clock?: Clock;
  random?: RandomSource;
  onEject?: (event: EjectionEvent) => void;
  onReadmit?: (id: string) => void;
}

interface Entry {
  readonly id: string;
  state: OutlierState;
  consecutive5xx: number;
  consecutiveGateway: number;
  successes: number;
  failures: number;
  ejections: number;
  multiplier: number;
  ejectedAt: number | null;
  readmitAt: number | null;
  lastReason: EjectionReason | null;
  timer: TimerHandle | undefined;
}

const NO_EJECTIONS: ReadonlySet<string> = new Set();

export class OutlierDetectionBalancer implements LoadBalancer {
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly entries = new Map<string, Entry>();
  private readonly ejected = new Set<string>();
  private endpoints: readonly Endpoint[] = [];
  private parentEjected: ReadonlySet<string> = NO_EJECTIONS;
  private config: OutlierDetectionConfig;
  private interval: TimerHandle | undefined;
  private readonly onEject: ((event: EjectionEvent) => void) | undefined;
  private readonly onReadmit: ((id: string) => void) | undefined;

  constructor(
    private readonly child: LoadBalancer,
    config: Partial<OutlierDetectionConfig> = {},
    options: OutlierDetectionOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.onEject = options.onEject;
    this.onReadmit = options.onReadmit;
    this.config = { ...DEFAULT_OUTLIER_DETECTION, ...config };
    this.startInterval();
  }

  get picker(): Picker {
    return this.child.picker;
  }

  updateEndpoints(endpoints: readonly Endpoint[], ejected: ReadonlySet<string> = NO_EJECTIONS): void {
    this.endpoints = endpoints;
    this.parentEjected = ejected;
    const present = new Set<string>();
    for (const ep of endpoints) {
      present.add(ep.id);
      if (!this.entries.has(ep.id)) this.entries.set(ep.id, newEntry(ep.id));
    }
    for (const [id, entry] of this.entries) {
      if (present.has(id)) continue;
      this.clock.clearTimeout(entry.timer);
      this.entries.delete(id);
      this.ejected.delete(id);
    }
    this.pushToChild();
  }

  /** Applies a new config; disabling readmits every endpoint and forgets ejection counts. */
  updateConfig(config: Partial<OutlierDetectionConfig>): void {
    const before = this.config;
    this.config = { ...DEFAULT_OUTLIER_DETECTION, ...config };
    if (!this.config.enabled) {
      for (const entry of this.entries.values()) {
        this.clock.clearTimeout(entry.timer);
        Object.assign(entry, newEntry(entry.id), { ejections: entry.ejections });
      }
      this.ejected.clear();
      this.pushToChild();
    }
    if (before.enabled !== this.config.enabled || before.interval_ms !== this.config.interval_ms) {
      this.clock.clearInterval(this.interval);
      this.interval = undefined;
      this.startInterval();
    }
  }

  onCallStarted(endpoint: Endpoint): void {
    this.child.onCallStarted(endpoint);
  }

  onCallEnded(endpoint: Endpoint, status: number, latencyMs?: number): void {
    this.record(endpoint.id, status);
    this.child.onCallEnded(endpoint, status, latencyMs);
  }

  onConnectionOpened(endpoint: Endpoint): void {
    this.child.onConnectionOpened(endpoint);
  }

  onConnectionClosed(endpoint: Endpoint): void {
    this.child.onConnectionClosed(endpoint);
  }

  /** Every endpoint's outlier state, in endpoint order. */
  ejectionStates(): EjectionState[] {
    return this.endpoints.map((ep) => this.ejectionState(ep.id)).filter((s): s is EjectionState => s !== undefined);
  }

  ejectionState(id: string): EjectionState | undefined {
    const e = this.entries.get(id);
    if (e === undefined) return undefined;
    return {
      id: e.id,
      state: e.state,
      ejections: e.ejections,
      multiplier: e.multiplier,
      ejectedAt: e.ejectedAt,
      readmitAt: e.readmitAt,
      lastReason: e.lastReason,
      consecutive5xx: e.consecutive5xx,
      consecutiveGatewayFailures: e.consecutiveGateway,
      intervalSuccesses: e.successes,
      intervalFailures: e.failures,
    };
  }

  /** Ids currently ejected by this detector. */
  ejectedIds(): string[] {
    return [...this.ejected];
  }

  destroy(): void {
    this.clock.clearInterval(this.interval);
    this.interval = undefined;
    for (const entry of this.entries.values()) this.clock.clearTimeout(entry.timer);
    this.child.destroy();
  }

  private record(id: string, status: number): void {
    const e = this.entries.get(id);
    if (e === undefined || !this.config.enabled) return;
    const failure = isFailure(status);
    if (failure) e.failures++;
    else e.successes++;
    if (e.state === 'ejected') return; // a call sent before the ejection
    if (e.state === 'half_open') {
      e.state = 'active';
      if (!failure) return;
      if (this.eject(e, 'half_open_failure')) return;
      // The cap forbids another ejection: count the failure as an active endpoint would.
    }
    if (!failure) {
      e.consecutive5xx = 0;
      e.consecutiveGateway = 0;
      return;
    }
    e.consecutive5xx++;
    if (isGatewayFailure(status)) e.consecutiveGateway++;
    else e.consecutiveGateway = 0;
    const c = this.config;
    if (e.consecutiveGateway >= c.consecutive_gateway_failure) {
      e.consecutiveGateway = 0;
      if (this.enforced(c.enforcing_consecutive_gateway_failure) && this.eject(e, 'consecutive_gateway_failure')) return;
    }
    if (e.consecutive5xx >= c.consecutive_5xx) {
      e.consecutive5xx = 0;
      if (this.enforced(c.enforcing_consecutive_5xx)) this.eject(e, 'consecutive_5xx');
    }
  }

  private enforced(percent: number | undefined): boolean {
    const p = percent ?? 100;
    return p >= 100 || (p > 0 && this.random() * 100 < p);
  }

  private mayEject(): boolean {
    const pct = this.config.max_ejection_percent;
    if (pct <= 0) return false;
    const ejected = this.ejected.size;
    return ejected === 0 || (ejected + 1) * 100 <= pct * this.entries.size;
  }

  private eject(e: Entry, reason: EjectionReason): boolean {
    if (e.state === 'ejected' || !this.mayEject()) return false;
    const now = this.clock.now();
    const c = this.config;
    e.multiplier++;
    e.ejections++;
    const duration = Math.min(c.base_ejection_time_ms * e.multiplier, Math.max(c.base_ejection_time_ms, c.max_ejection_time_ms));
    e.state = 'ejected';
    e.ejectedAt = now;
    e.readmitAt = now + duration;
    e.lastReason = reason;
    e.consecutive5xx = 0;
    e.consecutiveGateway = 0;
    e.timer = this.clock.setTimeout(() => this.readmit(e), duration).unref();
    this.ejected.add(e.id);
    this.pushToChild();
    this.onEject?.({ id: e.id, reason, durationMs: duration, ejections: e.ejections });
    return true;
  }

  private readmit(e: Entry): void {
    if (this.entries.get(e.id) !== e || e.state !== 'ejected') return;
    e.timer = undefined;
    e.state = 'half_open';
    e.readmitAt = null;
    this.ejected.delete(e.id);
    this.pushToChild();
    this.onReadmit?.(e.id);
  }

  private startInterval(): void {
    if (!this.config.enabled || this.interval !== undefined) return;
    this.interval = this.clock.setInterval(() => this.onInterval(), this.config.interval_ms).unref();
  }

  private onInterval(): void {
    const sr = this.config.success_rate;
    if (sr !== undefined) this.checkSuccessRate(sr);
    for (const e of this.entries.values()) {
      if (e.state === 'active' && e.multiplier > 0) e.multiplier--;
      e.successes = 0;
      e.failures = 0;
    }
  }

  private checkSuccessRate(sr: NonNullable<OutlierDetectionConfig['success_rate']>): void {
    const candidates: Entry[] = [];
    const rates: number[] = [];
    for (const e of this.entries.values()) {
      const volume = e.successes + e.failures;
      if (e.state === 'ejected' || volume < sr.request_volume) continue;
      candidates.push(e);
      rates.push(e.successes / volume);
    }
    if (candidates.length === 0 || candidates.length < sr.minimum_hosts) return;
    let sum = 0;
    for (const r of rates) sum += r;
    const mean = sum / rates.length;
    let squares = 0;
    for (const r of rates) squares += (r - mean) * (r - mean);
    const stdev = Math.sqrt(squares / rates.length);
    const threshold = mean - sr.stdev_factor * stdev;
    for (let i = 0; i < candidates.length; i++) {
      if (rates[i]! < threshold && this.enforced(this.config.enforcing_success_rate)) this.eject(candidates[i]!, 'success_rate');
    }
  }

  private pushToChild(): void {
    let ejected: ReadonlySet<string> = this.ejected;
    if (this.parentEjected.size > 0) {
      const union = new Set(this.parentEjected);
      for (const id of this.ejected) union.add(id);
      ejected = union;
    }
    this.child.updateEndpoints(this.endpoints, ejected);
  }
}

function newEntry(id: string): Entry {
  return {
    id,
    state: 'active',
    consecutive5xx: 0,
    consecutiveGateway: 0,
    successes: 0,
    failures: 0,
    ejections: 0,
    multiplier: 0,
    ejectedAt: null,
    readmitAt: null,
    lastReason: null,
    timer: undefined,
  };
}
