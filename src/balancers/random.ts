/**
 * random: an endpoint drawn at random in proportion to its weight (uniformly when weights are
 * equal). Unequal weights use Walker's alias method, built once per picker: a pick is one random
 * draw and two array reads whatever the number of endpoints.
 */
import { z } from 'zod';
import { effectiveWeight, type Endpoint } from './endpoint.js';
import { randomIndex, type LbPolicy, type Picker, type RandomSource } from './picker.js';
import type { PolicyDefinition } from './policy-registry.js';

export class RandomPicker implements Picker {
  /** Per slot: the probability of keeping the slot's own endpoint; null when weights are equal. */
  private readonly keep: Float64Array | null;
  private readonly alias: Int32Array | null;

  constructor(
    readonly endpoints: readonly Endpoint[],
    private readonly random: RandomSource,
  ) {
    const n = endpoints.length;
    let total = 0;
    let equal = true;
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      w[i] = effectiveWeight(endpoints[i]!);
      total += w[i]!;
      if (w[i] !== w[0]) equal = false;
    }
    if (equal) {
      this.keep = null;
      this.alias = null;
      return;
    }
    // Vose's construction: scale weights to mean 1, pair each light slot with a heavy donor.
    const keep = new Float64Array(n);
    const alias = new Int32Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) {
      keep[i] = (w[i]! * n) / total;
      (keep[i]! < 1 ? small : large).push(i);
    }
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large[large.length - 1]!;
      alias[s] = l;
      keep[l] = keep[l]! + keep[s]! - 1;
      if (keep[l]! < 1) {
        large.pop();
        small.push(l);
      }
    }
    for (const i of large) keep[i] = 1;
    for (const i of small) keep[i] = 1; // only rounding leftovers
    this.keep = keep;
    this.alias = alias;
  }

  pick(): Endpoint | undefined {
    const n = this.endpoints.length;
    if (n === 0) return undefined;
    if (this.keep === null) return this.endpoints[randomIndex(this.random, n)];
    const u = this.random() * n;
    let i = Math.floor(u);
    if (i >= n) i = n - 1;
    return this.endpoints[u - i < this.keep[i]! ? i : this.alias![i]!];
  }
}

const options = z.strictObject({});
export type RandomOptions = z.output<typeof options>;

export const randomPolicy: PolicyDefinition<RandomOptions> = {
  name: 'random',
  description: 'a random endpoint, in proportion to weight',
  options,
  create(opts): LbPolicy {
    return {
      name: 'random',
      options: opts,
      buildPicker: (endpoints, env) => new RandomPicker(endpoints, env.random),
    };
  },
};
