/**
 * What the sidecar knows about one upstream cluster, as an immutable snapshot: a change
 * replaces the object, so the data plane may keep the one it built its picker from and compare
 * by identity (grpc-js's picker idea, one level up).
 */
import type { ServiceConfig } from '../model/service-config.js';
import type { DecodedEndpoint } from '../xds/resources/endpoints-decode.js';

/** Where the current state came from: the hub, or the cache file of a previous run. */
export type ClusterSource = 'hub' | 'cache';

/**
 * pending: nothing known yet. known: config known (endpoints may follow). absent: the hub says
 * there is no such cluster.
 */
export type ClusterStatus = 'pending' | 'known' | 'absent';

export interface ClusterView {
  readonly name: string;
  /** Declared upstreams are always subscribed; the others were asked for with ensure(). */
  readonly declared: boolean;
  readonly status: ClusterStatus;
  readonly config: ServiceConfig | undefined;
  readonly configVersion: string | undefined;
  readonly endpoints: readonly DecodedEndpoint[] | undefined;
  readonly endpointsVersion: string | undefined;
  /** 'cache' while any part has not been confirmed by the hub yet. */
  readonly source: ClusterSource | undefined;
  /** Clock time the config or endpoints last changed. */
  readonly changedAt: number | undefined;
  /** Clock time of the last ensure() or touch() (on-demand clusters). */
  readonly lastUsedAt: number | undefined;
  /** Why the hub's last update of this cluster was rejected, while the last good one is used. */
  readonly error: string | undefined;
}

/** One 'change' event: the data plane rebuilds its picker when config or endpoints changed. */
export interface ClusterChange {
  readonly name: string;
  /** Undefined once the cluster is no longer held (an idle on-demand cluster dropped). */
  readonly view: ClusterView | undefined;
  readonly config: boolean;
  readonly endpoints: boolean;
  readonly removed: boolean;
}

/** The manager's mutable state of one cluster, from which views are made. */
export interface ClusterRecord {
  readonly name: string;
  readonly declared: boolean;
  config: ServiceConfig | undefined;
  configVersion: string | undefined;
  configSource: ClusterSource | undefined;
  endpoints: readonly DecodedEndpoint[] | undefined;
  endpointsVersion: string | undefined;
  endpointsSource: ClusterSource | undefined;
  absent: boolean;
  changedAt: number | undefined;
  lastUsedAt: number;
  /** Why the last CDS / EDS update was rejected; cleared by the next accepted one. */
  clusterError: string | undefined;
  endpointsError: string | undefined;
  unwatch: (() => void) | undefined;
  view: ClusterView;
}

export function newRecord(name: string, declared: boolean, now: number): ClusterRecord {
  const state: Omit<ClusterRecord, 'view'> = {
    name,
    declared,
    config: undefined,
    configVersion: undefined,
    configSource: undefined,
    endpoints: undefined,
    endpointsVersion: undefined,
    endpointsSource: undefined,
    absent: false,
    changedAt: undefined,
    lastUsedAt: now,
    clusterError: undefined,
    endpointsError: undefined,
    unwatch: undefined,
  };
  return { ...state, view: viewOf(state) };
}

export function viewOf(r: Omit<ClusterRecord, 'view'>): ClusterView {
  const sources = [r.configSource, r.endpointsSource].filter((s) => s !== undefined);
  return Object.freeze({
    name: r.name,
    declared: r.declared,
    status: r.config !== undefined ? 'known' : r.absent ? 'absent' : 'pending',
    config: r.config,
    configVersion: r.configVersion,
    endpoints: r.endpoints,
    endpointsVersion: r.endpointsVersion,
    source: sources.length === 0 ? undefined : sources.includes('cache') ? 'cache' : 'hub',
    changedAt: r.changedAt,
    lastUsedAt: r.declared ? undefined : r.lastUsedAt,
    error: [r.clusterError, r.endpointsError].filter((e) => e !== undefined).join('; ') || undefined,
  });
}

/** Config and endpoints are both known: a request can be routed. */
export function isUsable(r: ClusterRecord): boolean {
  return r.config !== undefined && r.endpoints !== undefined;
}
