/**
 * The cluster manager's options, their defaults, and the checks made when it is constructed.
 */
import { systemClock, type Clock } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import type { AdsClient } from '../xds/client/ads-client.js';
import { parseClusterName } from './cluster-name.js';
import type { PeerCache } from './peer-cache.js';
import type { ServiceExistence } from './service-existence.js';

export interface ClusterManagerOptions {
  /** The manager owns its lifecycle: started by start(), stopped by stop(). */
  ads: AdsClient;
  /** Upstreams from the sidecar's config, `<service>.<namespace>`: always subscribed. */
  declared?: readonly string[];
  /** Where the last good config is kept across restarts; none: nothing is kept. */
  cache?: PeerCache;
  clock?: Clock;
  logger?: Logger;
  /** An on-demand cluster neither ensured nor touched for this long is unsubscribed. Default 5 min. */
  onDemandIdleMs?: number;
  /** How often idle on-demand clusters are looked for. Default a quarter of onDemandIdleMs, at most 30 s. */
  idleSweepIntervalMs?: number;
  /** How long ensure() waits for an unknown cluster by default. Default 10 s. */
  ensureTimeoutMs?: number;
  /** On-demand clusters held at most, so an app cannot grow the sidecar without bound. Default 4096. */
  maxOnDemand?: number;
  /** Asked beside the subscription when an on-demand cluster is added: false answers not_found at once. */
  exists?: ServiceExistence;
}

export interface ResolvedClusterManagerOptions {
  ads: AdsClient;
  declared: readonly string[];
  cache: PeerCache | undefined;
  clock: Clock;
  logger: Logger;
  onDemandIdleMs: number;
  idleSweepIntervalMs: number;
  ensureTimeoutMs: number;
  maxOnDemand: number;
  exists: ServiceExistence | undefined;
}

export const DEFAULT_ON_DEMAND_IDLE_MS = 300_000;
export const DEFAULT_ENSURE_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_ON_DEMAND = 4096;
const MAX_SWEEP_INTERVAL_MS = 30_000;

const invalid = (field: string, message: string): OutriggerError => new OutriggerError('config_invalid', `${field}: ${message}`, field);

function positive(value: number | undefined, field: string, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw invalid(field, `must be a positive number, got ${String(value)}`);
  return v;
}

export function resolveClusterManagerOptions(options: ClusterManagerOptions): ResolvedClusterManagerOptions {
  const declared = [...new Set((options.declared ?? []).map((name, i) => parseClusterName(name, `declared[${i}]`)))];
  const idle = positive(options.onDemandIdleMs, 'onDemandIdleMs', DEFAULT_ON_DEMAND_IDLE_MS);
  return {
    ads: options.ads,
    declared,
    cache: options.cache,
    clock: options.clock ?? systemClock,
    logger: (options.logger ?? silentLogger).child({ component: 'clusters' }),
    onDemandIdleMs: idle,
    idleSweepIntervalMs: positive(options.idleSweepIntervalMs, 'idleSweepIntervalMs', Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(1, idle / 4))),
    ensureTimeoutMs: positive(options.ensureTimeoutMs, 'ensureTimeoutMs', DEFAULT_ENSURE_TIMEOUT_MS),
    maxOnDemand: Math.floor(positive(options.maxOnDemand, 'maxOnDemand', DEFAULT_MAX_ON_DEMAND)),
    exists: options.exists,
  };
}
