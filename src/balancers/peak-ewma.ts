/**
 * peak_ewma: latency-aware power of two choices, Linkerd's default balancer. Two distinct
 * endpoints are drawn at random and the cheaper one wins, where
 *
 *   cost = latency estimate × (active requests + 1)
 *
 * The estimate is the endpoint's peak EWMA of response latency (EndpointStats.observeLatency),
 * decayed toward zero for the time since its last sample (time constant `decay_time_ms`), so an
 * endpoint that was slow and then left alone becomes worth another try. An endpoint with no sample
 * yet is charged `default_rtt_ms` — the penalty that keeps a fresh endpoint from being flooded
 * before it has answered once (Linkerd: 30 ms; it does not decay). Weights are ignored.
 */
import { z } from 'zod';
import type { Clock } from '../common/clock.js';
import type { Endpoint } from './endpoint.js';
import type { EndpointStats } from './endpoint-stats.js';
import { randomIndex, type LbPolicy, type Picker, type PickerEnv, type RandomSource } from './picker.js';
import type { PolicyDefinition } from './policy-registry.js';

export class PeakEwmaPicker implements Picker {
  constructor(
    readonly endpoints: readonly Endpoint[],
    private readonly stats: readonly EndpointStats[],
    private readonly random: RandomSource,
    private readonly clock: Clock,
    private readonly decayMs: number,
    private readonly defaultRttMs: number,
  ) {}

  private cost(i: number, now: number): number {
    const s = this.stats[i]!;
    const latency = s.hasLatency ? s.latencyAt(now, this.decayMs) : this.defaultRttMs;
    return latency * (s.activeRequests + 1);
  }

  pick(): Endpoint | undefined {
    const n = this.endpoints.length;
    if (n <= 1) return this.endpoints[0];
    const a = randomIndex(this.random, n);
    let b = randomIndex(this.random, n - 1);
    if (b >= a) b++;
    const now = this.clock.monotonic();
    return this.endpoints[this.cost(b, now) < this.cost(a, now) ? b : a];
  }
}

const options = z.strictObject({
  decay_time_ms: z
    .number({ error: 'must be an integer from 1 to 3600000 (ms)' })
    .int({ error: 'must be an integer from 1 to 3600000 (ms)' })
    .min(1, { error: 'must be an integer from 1 to 3600000 (ms)' })
    .max(3_600_000, { error: 'must be an integer from 1 to 3600000 (ms)' })
    .default(10_000),
  default_rtt_ms: z
    .number({ error: 'must be a number from 0 to 600000 (ms)' })
    .min(0, { error: 'must be a number from 0 to 600000 (ms)' })
    .max(600_000, { error: 'must be a number from 0 to 600000 (ms)' })
    .default(30),
});
export type PeakEwmaOptions = z.output<typeof options>;

export const peakEwmaPolicy: PolicyDefinition<PeakEwmaOptions> = {
  name: 'peak_ewma',
  description: "latency-aware power of two choices: cost = peak EWMA latency × (active + 1) (Linkerd's)",
  options,
  create(opts): LbPolicy {
    return {
      name: 'peak_ewma',
      options: opts,
      ewmaDecayMs: opts.decay_time_ms,
      buildPicker(endpoints: readonly Endpoint[], env: PickerEnv): Picker {
        const stats = endpoints.map((ep) => env.stats.get(ep.id));
        return new PeakEwmaPicker(endpoints, stats, env.random, env.clock, opts.decay_time_ms, opts.default_rtt_ms);
      },
    };
  },
};
