/**
 * Which endpoints a picker is built over: health, outlier ejection, zone preference and Envoy's
 * panic threshold, decided once per picker build (never per pick).
 *
 * Rules, in order:
 * 1. DRAINING endpoints never take new requests, not even in panic: draining is an instance asking
 *    to be left alone while it finishes (a rolling deploy, a scale-down), and sending it more work
 *    would defeat the graceful shutdown. They also do not count in the panic arithmetic, so that a
 *    rolling deploy draining half of a service does not throw the rest into panic.
 * 2. Healthy = HEALTHY and not ejected by outlier detection. UNKNOWN is not healthy.
 * 3. Panic: when healthy endpoints are fewer than `panic_threshold_percent` of the non-draining
 *    ones, balance over all non-draining endpoints, whatever their health or ejection (Envoy:
 *    health checks are probably wrong, and a few healthy endpoints would be overloaded). Zone
 *    preference does not apply in panic. 0 disables panic.
 * 4. Otherwise, zone-aware: when the local zone (and region, if given) is known and at least
 *    `zone_aware.min_healthy_percent` of its non-draining endpoints are healthy, use only the
 *    healthy local-zone endpoints; otherwise all healthy endpoints.
 */
import type { Endpoint } from './endpoint.js';

/** Same shape as the service config's fields (src/model/service-config.ts). */
export interface RoutingConfig {
  readonly panic_threshold_percent: number;
  readonly zone_aware: {
    readonly enabled: boolean;
    readonly min_healthy_percent: number;
  };
}

export const DEFAULT_ROUTING: RoutingConfig = Object.freeze({
  panic_threshold_percent: 50,
  zone_aware: Object.freeze({ enabled: true, min_healthy_percent: 70 }),
});

export interface Locality {
  readonly zone?: string | undefined;
  readonly region?: string | undefined;
}

export type RoutingMode = 'healthy' | 'local_zone' | 'panic' | 'none';

export interface RoutingDecision {
  readonly mode: RoutingMode;
  readonly endpoints: readonly Endpoint[];
  /** Non-draining endpoints. */
  readonly total: number;
  /** HEALTHY and not ejected. */
  readonly healthy: number;
}

const NO_EJECTIONS: ReadonlySet<string> = new Set();

export function selectRoutable(
  all: readonly Endpoint[],
  config: RoutingConfig = DEFAULT_ROUTING,
  locality: Locality = {},
  ejected: ReadonlySet<string> = NO_EJECTIONS,
): RoutingDecision {
  const localZone = config.zone_aware.enabled ? locality.zone : undefined;
  const localRegion = locality.region;
  let total = 0;
  let healthy = 0;
  let local = 0;
  let localHealthy = 0;
  for (const ep of all) {
    if (ep.health === 'DRAINING') continue;
    total++;
    const isHealthy = ep.health === 'HEALTHY' && !ejected.has(ep.id);
    if (isHealthy) healthy++;
    if (localZone !== undefined && ep.zone === localZone && (localRegion === undefined || ep.region === localRegion)) {
      local++;
      if (isHealthy) localHealthy++;
    }
  }
  if (total === 0) return { mode: 'none', endpoints: [], total, healthy };
  if (healthy * 100 < config.panic_threshold_percent * total) {
    const endpoints = all.filter((ep) => ep.health !== 'DRAINING');
    return { mode: 'panic', endpoints, total, healthy };
  }
  if (healthy === 0) return { mode: 'none', endpoints: [], total, healthy };
  if (local > 0 && localHealthy > 0 && localHealthy * 100 >= config.zone_aware.min_healthy_percent * local) {
    const endpoints = all.filter(
      (ep) =>
        ep.health === 'HEALTHY' &&
        !ejected.has(ep.id) &&
        ep.zone === localZone &&
        (localRegion === undefined || ep.region === localRegion),
    );
    return { mode: 'local_zone', endpoints, total, healthy };
  }
  const endpoints = healthy === all.length ? all : all.filter((ep) => ep.health === 'HEALTHY' && !ejected.has(ep.id));
  return { mode: 'healthy', endpoints, total, healthy };
}
