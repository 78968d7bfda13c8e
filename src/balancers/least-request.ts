/**
 * least_request, as Envoy does it.
 *
 * Equal weights: power of `choice_count` random choices (default 2) — draw that many endpoints at
 * random (with replacement, like Envoy) and take the one with the fewest active requests; on a tie
 * the earlier draw wins. O(choice_count) per pick.
 *
 * Unequal weights: earliest-deadline-first over effective weights
 * weight / (active + 1)^active_request_bias: each endpoint has a deadline; a pick takes the
 * earliest (ties: the one scheduled first) and schedules it again 1 / effective weight later,
 * with its active count read at that moment. Bias 1 (the default) divides by active + 1, bias 0
 * is plain weighted round robin. O(log n) per pick with a binary heap held by the picker.
 */
import { z } from 'zod';
import { effectiveWeight, type Endpoint } from './endpoint.js';
import type { EndpointStats } from './endpoint-stats.js';
import { randomIndex, type LbPolicy, type Picker, type PickerEnv, type RandomSource } from './picker.js';
import type { PolicyDefinition } from './policy-registry.js';

export class PowerOfChoicesPicker implements Picker {
  constructor(
    readonly endpoints: readonly Endpoint[],
    private readonly stats: readonly EndpointStats[],
    private readonly random: RandomSource,
    private readonly choices: number,
  ) {}

  pick(): Endpoint | undefined {
    const n = this.endpoints.length;
    if (n <= 1) return this.endpoints[0];
    let best = randomIndex(this.random, n);
    let bestActive = this.stats[best]!.activeRequests;
    for (let k = 1; k < this.choices; k++) {
      const c = randomIndex(this.random, n);
      const a = this.stats[c]!.activeRequests;
      if (a < bestActive) {
        best = c;
        bestActive = a;
      }
    }
    return this.endpoints[best];
  }
}

export class EarliestDeadlinePicker implements Picker {
  private readonly heap: Int32Array;
  private readonly deadline: Float64Array;
  private readonly order: Float64Array;
  private readonly weight: Float64Array;
  private now = 0;
  private seq = 0;

  constructor(
    readonly endpoints: readonly Endpoint[],
    /** null: static weights (weighted round robin), bias ignored. */
    private readonly stats: readonly EndpointStats[] | null,
    random: RandomSource,
    private readonly bias: number,
  ) {
    const n = endpoints.length;
    this.heap = new Int32Array(n);
    this.deadline = new Float64Array(n);
    this.order = new Float64Array(n);
    this.weight = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.weight[i] = effectiveWeight(endpoints[i]!);
      // A random phase within the first period, so that sidecars built at the same moment
      // do not all start on the heaviest endpoint.
      this.deadline[i] = random() / this.effective(i);
      this.order[i] = this.seq++;
      this.heap[i] = i;
    }
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private effective(i: number): number {
    const w = this.weight[i]!;
    if (this.stats === null || this.bias === 0) return w;
    const a = this.stats[i]!.activeRequests;
    if (a === 0) return w;
    return this.bias === 1 ? w / (a + 1) : w / Math.pow(a + 1, this.bias);
  }

  private before(a: number, b: number): boolean {
    const da = this.deadline[a]!;
    const db = this.deadline[b]!;
    return da < db || (da === db && this.order[a]! < this.order[b]!);
  }

  private siftDown(pos: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[pos]!;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && this.before(heap[right]!, heap[child]!)) child = right;
      if (!this.before(heap[child]!, item)) break;
      heap[pos] = heap[child]!;
      pos = child;
    }
    heap[pos] = item;
  }

  pick(): Endpoint | undefined {
    const n = this.heap.length;
    if (n === 0) return undefined;
    const top = this.heap[0]!;
    this.now = this.deadline[top]!;
    this.deadline[top] = this.now + 1 / this.effective(top);
    this.order[top] = this.seq++;
    this.siftDown(0);
    return this.endpoints[top];
  }
}

const options = z.strictObject({
  choice_count: z
    .number({ error: 'must be an integer from 2 to 100' })
    .int({ error: 'must be an integer from 2 to 100' })
    .min(2, { error: 'must be an integer from 2 to 100' })
    .max(100, { error: 'must be an integer from 2 to 100' })
    .default(2),
  active_request_bias: z
    .number({ error: 'must be a number from 0 to 10' })
    .min(0, { error: 'must be a number from 0 to 10' })
    .max(10, { error: 'must be a number from 0 to 10' })
    .default(1),
});
export type LeastRequestOptions = z.output<typeof options>;

function allWeightsEqual(endpoints: readonly Endpoint[]): boolean {
  if (endpoints.length === 0) return true;
  const w = effectiveWeight(endpoints[0]!);
  for (const ep of endpoints) if (effectiveWeight(ep) !== w) return false;
  return true;
}

export const leastRequestPolicy: PolicyDefinition<LeastRequestOptions> = {
  name: 'least_request',
  description: "fewest active requests among random choices; weight-aware EDF with unequal weights (Envoy's)",
  options,
  create(opts): LbPolicy {
    return {
      name: 'least_request',
      options: opts,
      buildPicker(endpoints: readonly Endpoint[], env: PickerEnv): Picker {
        const stats = endpoints.map((ep) => env.stats.get(ep.id));
        if (allWeightsEqual(endpoints)) return new PowerOfChoicesPicker(endpoints, stats, env.random, opts.choice_count);
        return new EarliestDeadlinePicker(endpoints, stats, env.random, opts.active_request_bias);
      },
    };
  },
};
