/**
 * What a balancer balances over: one instance of the upstream service, as the sidecar learned it
 * (from EDS or the registry). Endpoints are immutable values; a change replaces the object and the
 * balancer builds a new picker.
 */
import type { Health } from '../model/health.js';


export interface Endpoint {
  /** Stable identity; per-endpoint load and ejection state are keyed by it. */
  readonly id: string;
  readonly address: string;
  readonly port: number;
  /** 1–1000. Values outside are clamped when a picker is built (see effectiveWeight). */
  readonly weight: number;
  readonly zone: string;
  readonly region: string;
  /**
   * Only HEALTHY endpoints take new requests normally. UNKNOWN is not routable (not yet checked),
   * DRAINING never gets new requests (not even in panic), UNHEALTHY only in panic.
   */
  readonly health: Health;
  readonly metadata: Readonly<Record<string, string>>;
}

export const MIN_WEIGHT = 1;
export const MAX_WEIGHT = 1000;

/** The weight a picker uses: an integer in 1–1000 whatever the endpoint says. */
export function effectiveWeight(endpoint: Endpoint): number {
  const w = endpoint.weight;
  if (!(w >= MIN_WEIGHT)) return MIN_WEIGHT; // also catches NaN
  if (w >= MAX_WEIGHT) return MAX_WEIGHT;
  return Math.floor(w);
}

/**
 * `address:port` as Envoy writes it (`[::1]:80` for IPv6). Consistent hashing places an endpoint
 * on the ring by this, not by id, so an instance that re-registers under a new id keeps its keys.
 */
export function hostKey(endpoint: Endpoint): string {
  return endpoint.address.includes(':') ? `[${endpoint.address}]:${endpoint.port}` : `${endpoint.address}:${endpoint.port}`;
}
