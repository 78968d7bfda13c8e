/**
 * The picker contract (grpc-js's model): a picker is an immutable snapshot of a balancer's
 * routable endpoints, built once and replaced whenever the set changes. Picking is the hot path:
 * a picker allocates what it needs when it is built, and a pick allocates nothing a picker or an
 * endpoint could have held.
 *
 * Pickers may keep a cursor or a schedule (round robin, smooth weighted, EDF) as private mutable
 * state; live load (active requests, latency) is read from EndpointStats, which outlive pickers.
 */
import type { Clock } from '../common/clock.js';
import type { Endpoint } from './endpoint.js';
import type { EndpointStatsStore } from './endpoint-stats.js';

/** A source of randomness in [0, 1); injectable so that tests are deterministic. */
export type RandomSource = () => number;

/**
 * What a pick may look at to build a hash key. Every member is optional; a picker that needs
 * none of them (all but consistent_hash) ignores the context, and `pick()` without one is fine.
 */
export interface PickContext {
  /** A request header by lower-case name; the first value when repeated. */
  header?: (name: string) => string | undefined;
  /** A cookie by name. When absent, the `cookie` header is parsed instead. */
  cookie?: (name: string) => string | undefined;
  /** The downstream peer's IP address ("IP hash"). */
  sourceIp?: string | undefined;
  /** The request target: path with its query string, e.g. `/cart?user=42`. */
  path?: string | undefined;
}

export interface Picker {
  /** An endpoint for one request (or one TCP connection), or undefined when none is routable. */
  pick(context?: PickContext): Endpoint | undefined;
  /** The endpoints this picker chooses among, in the order given to it. */
  readonly endpoints: readonly Endpoint[];
}

/** What a policy gets to build a picker with. */
export interface PickerEnv {
  readonly stats: EndpointStatsStore;
  readonly random: RandomSource;
  readonly clock: Clock;
}

/**
 * A load-balancing policy with its options already parsed and validated (see PolicyRegistry).
 * It is a long-lived factory: one instance builds every picker of a balancer, and may cache
 * per-endpoint work (ring points) between builds.
 */
export interface LbPolicy {
  readonly name: string;
  /** The options as parsed, defaults filled in (for the admin API). */
  readonly options: Readonly<Record<string, unknown>>;
  /** Time constant of the latency EWMA the policy reads, if it reads one (peak_ewma). */
  readonly ewmaDecayMs?: number;
  buildPicker(endpoints: readonly Endpoint[], env: PickerEnv): Picker;
}

class EmptyPicker implements Picker {
  readonly endpoints: readonly Endpoint[] = Object.freeze([]);
  pick(): undefined {
    return undefined;
  }
}

/** The picker of a balancer with nothing routable: every pick returns undefined. */
export const EMPTY_PICKER: Picker = new EmptyPicker();

/** An index in [0, n) from a random source. */
export function randomIndex(random: RandomSource, n: number): number {
  const i = Math.floor(random() * n);
  return i < n ? i : n - 1; // a source returning exactly 1 must not index out of range
}
