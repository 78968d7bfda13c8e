/**
 * The dashboard's rates, read from the hub's own metric families (so they agree with
 * /metrics): pushes and registrations per second, and push latency p50 / p99 as
 * `histogram_quantile` would compute them, over the window between the last two samples.
 */
import type client from 'prom-client';
import type { Clock } from '../common/clock.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';

interface Sample {
  at: number;
  pushes: number;
  registrations: number;
  /** Cumulative count per bucket bound (`le`), ascending; +Inf last. */
  buckets: Array<[number, number]>;
}

export interface DashboardStats {
  window_seconds: number;
  push_rate: number;
  registration_rate: number;
  /** Seconds, over the window (or the hub's life when no push happened in it); null before any push. */
  push_latency_p50: number | null;
  push_latency_p99: number | null;
  pushes_total: number;
  registrations_total: number;
}

export class DashboardStatsSampler {
  private previous: Sample | undefined;
  private last: Sample | undefined;

  constructor(
    private readonly metrics: HubMetrics,
    private readonly clock: Clock,
    /** Samples closer together than this reuse the last window, so many readers cost one read. */
    private readonly minWindowMs: number,
  ) {}

  async read(): Promise<DashboardStats> {
    const now = this.clock.monotonic();
    if (this.last === undefined || now - this.last.at >= this.minWindowMs) {
      this.previous = this.last;
      this.last = await this.sample(now);
    }
    const last = this.last;
    const prev = this.previous ?? { at: last.at, pushes: 0, registrations: 0, buckets: last.buckets.map(([le]) => [le, 0] as [number, number]) };
    const seconds = Math.max((last.at - prev.at) / 1000, 0.001);
    const window = last.buckets.map(([le, n], i) => [le, n - (prev.buckets[i]?.[1] ?? 0)] as [number, number]);
    return {
      window_seconds: this.previous === undefined ? 0 : Math.round(seconds * 10) / 10,
      push_rate: this.previous === undefined ? 0 : (last.pushes - prev.pushes) / seconds,
      registration_rate: this.previous === undefined ? 0 : (last.registrations - prev.registrations) / seconds,
      // Over the window when pushes happened in it, else over the hub's whole life.
      push_latency_p50: quantile(0.5, window) ?? quantile(0.5, last.buckets),
      push_latency_p99: quantile(0.99, window) ?? quantile(0.99, last.buckets),
      pushes_total: last.pushes,
      registrations_total: last.registrations,
    };
  }

  private async sample(at: number): Promise<Sample> {
    const [pushes, registrations, latency] = await Promise.all([this.metrics.pushes.get(), this.metrics.registrations.get(), this.metrics.pushLatency.get()]);
    const byBound = new Map<number, number>();
    for (const v of latency.values) {
      if (v.metricName?.endsWith('_bucket') !== true) continue;
      const bound = (v.labels as Record<string, string | number | undefined>).le;
      const le = bound === '+Inf' ? Infinity : Number(bound);
      byBound.set(le, (byBound.get(le) ?? 0) + v.value);
    }
    return { at, pushes: sum(pushes), registrations: sum(registrations), buckets: [...byBound].sort((a, b) => a[0] - b[0]) };
  }
}

function sum(m: client.MetricObjectWithValues<client.MetricValue<string>>): number {
  return m.values.reduce((n, v) => n + v.value, 0);
}

/** Prometheus's histogram_quantile: linear interpolation inside the bucket holding the rank. */
export function quantile(q: number, buckets: ReadonlyArray<readonly [number, number]>): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      // Past the last finite bound Prometheus answers that bound.
      if (le === Infinity) return lowerBound;
      return lowerBound + ((le - lowerBound) * (rank - lowerCount)) / Math.max(count - lowerCount, 1e-9);
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}
