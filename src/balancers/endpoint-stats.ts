/**
 * Live per-endpoint load, kept apart from pickers so that it survives picker rebuilds: a picker
 * built after an endpoint set change sees the requests already in flight. One store per balancer
 * (per cluster), keyed by endpoint id.
 */

import { OutcomeWindow } from './outcome-window.js';

/** A picker that indexes load (least_connections) registers here to hear of changes. */
export interface LoadObserver {
  loadChanged(slot: number, stats: EndpointStats): void;
}

export interface EndpointStatsSnapshot {
  id: string;
  activeRequests: number;
  activeConnections: number;
  totalRequests: number;
  /** Peak-EWMA latency in ms as last recorded, or null with no sample yet. */
  ewmaLatencyMs: number | null;
}

export class EndpointStats {
  /** Outcomes over the last minute (the dashboard's success rate). */
  readonly outcomes = new OutcomeWindow();
  private active = 0;
  private connections = 0;
  private total = 0;
  private ewma = 0;
  private stamp = 0;
  private sampled = false;
  /** @internal Set by the one picker that indexes this endpoint's load; null otherwise. */
  observer: LoadObserver | null = null;
  /** @internal This endpoint's position in the observing picker. */
  slot = -1;
  /** @internal Generation of the last endpoint list that contained this endpoint. */
  seen = 0;

  constructor(readonly id: string) {}

  /** Requests sent and not yet answered (for TCP, proxied connections still open). */
  get activeRequests(): number {
    return this.active;
  }

  /** Upstream connections open to this endpoint. */
  get activeConnections(): number {
    return this.connections;
  }

  get totalRequests(): number {
    return this.total;
  }

  /** Whether a latency sample was ever recorded. */
  get hasLatency(): boolean {
    return this.sampled;
  }

  /** The EWMA as last recorded (ms), without decay. */
  get ewmaMs(): number {
    return this.ewma;
  }

  /** Monotonic time (ms) of the last latency sample. */
  get ewmaStamp(): number {
    return this.stamp;
  }

  requestStarted(): void {
    this.active++;
    this.total++;
    if (this.observer !== null) this.observer.loadChanged(this.slot, this);
  }

  requestEnded(): void {
    if (this.active > 0) this.active--;
    if (this.observer !== null) this.observer.loadChanged(this.slot, this);
  }

  connectionOpened(): void {
    this.connections++;
  }

  connectionClosed(): void {
    if (this.connections > 0) this.connections--;
  }

  /**
   * Records a response latency into the peak EWMA (Finagle's and Linkerd's): a sample above the
   * estimate replaces it at once (peak); a lower one is blended in with weight 1 - e^(-Δt/τ), so
   * the estimate rises fast and falls smoothly.
   */
  observeLatency(latencyMs: number, now: number, decayMs: number): void {
    if (!(latencyMs >= 0)) return;
    if (!this.sampled) {
      this.ewma = latencyMs;
      this.sampled = true;
    } else if (latencyMs > this.ewma) {
      this.ewma = latencyMs;
    } else {
      const elapsed = now > this.stamp ? now - this.stamp : 0;
      const w = Math.exp(-elapsed / decayMs);
      this.ewma = this.ewma * w + latencyMs * (1 - w);
    }
    this.stamp = now;
  }

  /**
   * The estimate as of `now`: the recorded EWMA decayed toward zero for the time without a
   * sample (Linkerd's), so an endpoint that stopped answering slowly becomes worth a new try.
   */
  latencyAt(now: number, decayMs: number): number {
    const elapsed = now - this.stamp;
    return elapsed > 0 ? this.ewma * Math.exp(-elapsed / decayMs) : this.ewma;
  }

  /** True while anything is in flight, so the stats must outlive the endpoint's removal. */
  get busy(): boolean {
    return this.active > 0 || this.connections > 0;
  }

  snapshot(): EndpointStatsSnapshot {
    return {
      id: this.id,
      activeRequests: this.active,
      activeConnections: this.connections,
      totalRequests: this.total,
      ewmaLatencyMs: this.sampled ? this.ewma : null,
    };
  }
}

export const DEFAULT_EWMA_DECAY_MS = 10_000;

export class EndpointStatsStore {
  private readonly byId = new Map<string, EndpointStats>();
  /** Time constant τ of the latency EWMA, ms (peak_ewma's decay_time_ms). */
  ewmaDecayMs = DEFAULT_EWMA_DECAY_MS;

  /** The stats of an endpoint, created on first use. */
  get(id: string): EndpointStats {
    let s = this.byId.get(id);
    if (s === undefined) {
      s = new EndpointStats(id);
      this.byId.set(id, s);
    }
    return s;
  }

  /** The stats of an endpoint if the store has them; never creates. */
  peek(id: string): EndpointStats | undefined {
    return this.byId.get(id);
  }

  private generation = 0;

  /** Drops the stats of endpoints not in `endpoints`, except those with work in flight. */
  retain(endpoints: readonly { readonly id: string }[]): void {
    if (this.byId.size === 0) return;
    const gen = ++this.generation;
    for (const ep of endpoints) {
      const s = this.byId.get(ep.id);
      if (s !== undefined) s.seen = gen;
    }
    for (const [id, s] of this.byId) {
      if (s.seen !== gen && !s.busy) this.byId.delete(id);
    }
  }

  /** Unhooks every load observer (before a new picker registers its own). */
  detachObservers(): void {
    for (const s of this.byId.values()) {
      s.observer = null;
      s.slot = -1;
    }
  }

  get size(): number {
    return this.byId.size;
  }

  values(): IterableIterator<EndpointStats> {
    return this.byId.values();
  }
}
