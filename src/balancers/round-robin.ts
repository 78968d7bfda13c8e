/**
 * round_robin: each routable endpoint in turn, weights ignored (use `weighted` for weights).
 * Like grpc-js, a new picker starts at a random position so that many sidecars rebuilding at the
 * same moment do not all send their next request to the same endpoint.
 */
import { z } from 'zod';
import type { Endpoint } from './endpoint.js';
import { randomIndex, type LbPolicy, type Picker, type PickerEnv } from './picker.js';
import type { PolicyDefinition } from './policy-registry.js';

export class RoundRobinPicker implements Picker {
  private next: number;

  constructor(
    readonly endpoints: readonly Endpoint[],
    start = 0,
  ) {
    this.next = endpoints.length === 0 ? 0 : start % endpoints.length;
  }

  pick(): Endpoint | undefined {
    const n = this.endpoints.length;
    if (n === 0) return undefined;
    const i = this.next;
    this.next = i + 1 === n ? 0 : i + 1;
    return this.endpoints[i];
  }
}

const options = z.strictObject({});
export type RoundRobinOptions = z.output<typeof options>;

export const roundRobinPolicy: PolicyDefinition<RoundRobinOptions> = {
  name: 'round_robin',
  description: 'each endpoint in turn, weights ignored',
  options,
  create(opts): LbPolicy {
    return {
      name: 'round_robin',
      options: opts,
      buildPicker(endpoints: readonly Endpoint[], env: PickerEnv): Picker {
        return new RoundRobinPicker(endpoints, endpoints.length > 0 ? randomIndex(env.random, endpoints.length) : 0);
      },
    };
  },
};
