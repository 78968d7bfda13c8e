/**
 * The sidecar's view of its upstream clusters: config and endpoints per cluster, from the hub
 * (over the ADS client) or, until the hub confirms, from the cache of a previous run.
 *
 * - Declared upstreams are subscribed for the sidecar's whole life; `ready` once each has an answer.
 * - Others are subscribed on demand: ensure(name) resolves once the cluster is usable, or
 *   rejects after a bound saying why not. One neither ensured nor touched for onDemandIdleMs is
 *   unsubscribed, so the sidecar's memory follows what its app calls, not the size of the mesh.
 * - Every change of config or endpoints is one 'change' event (the data plane rebuilds its
 *   picker on it) and a debounced write of the cache.
 * - While the hub is out of reach everything is kept; staleAgeMs() says for how long.
 */
import { EventEmitter } from 'node:events';
import type { TimerHandle } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import type { AdsClientStats, AdsResourceError, ClusterWatcher } from '../xds/client/ads-client.js';
import type { DecodedCluster } from '../xds/resources/cluster-decode.js';
import { canonicalJson } from '../xds/resources/decode-result.js';
import type { DecodedEndpoints } from '../xds/resources/endpoints-decode.js';
import { EnsureWaiters } from './cluster-ensure.js';
import { resolveClusterManagerOptions, type ClusterManagerOptions, type ResolvedClusterManagerOptions } from './cluster-manager-options.js';
import { parseClusterName } from './cluster-name.js';
import { isUsable, newRecord, viewOf, type ClusterChange, type ClusterRecord, type ClusterView } from './cluster-view.js';
import type { PeerCacheCluster, PeerCacheStats } from './peer-cache.js';

export type { ClusterManagerOptions } from './cluster-manager-options.js';
export type { ClusterChange, ClusterSource, ClusterStatus, ClusterView } from './cluster-view.js';

export type ClusterManagerEvents = {
  change: [change: ClusterChange];
  /** `ready` flipped. */
  ready: [ready: boolean];
};

/** The admin API's /config_dump. */
export interface ClusterConfigDump {
  ready: boolean;
  stale_age_ms: number;
  ads: AdsClientStats;
  cache: (PeerCacheStats & { loaded_written_at: number | undefined }) | undefined;
  clusters: ClusterView[];
}

type Lifecycle = 'idle' | 'starting' | 'running' | 'stopped';

export class ClusterManager extends EventEmitter<ClusterManagerEvents> {
  private readonly opts: ResolvedClusterManagerOptions;
  private readonly records = new Map<string, ClusterRecord>();
  /** Cached clusters that are not declared: used if the app asks for one of them. */
  private readonly seeds = new Map<string, PeerCacheCluster>();
  private readonly waiters: EnsureWaiters;
  private lifecycle: Lifecycle = 'idle';
  private startedAt: number | undefined;
  private cacheWrittenAt: number | undefined;
  private sweepTimer: TimerHandle | undefined;
  private wasReady = false;
  private onDemand = 0;

  constructor(options: ClusterManagerOptions) {
    super();
    this.opts = resolveClusterManagerOptions(options);
    this.waiters = new EnsureWaiters(this.opts.clock);
    const now = this.opts.clock.now();
    for (const name of this.opts.declared) this.records.set(name, newRecord(name, true, now));
    this.wasReady = this.ready;
  }

  /** Loads the cache, subscribes the declared upstreams and starts the ADS client. */
  async start(): Promise<void> {
    if (this.lifecycle !== 'idle') return;
    this.lifecycle = 'starting';
    this.startedAt = this.opts.clock.now();
    const loaded = await this.opts.cache?.load();
    if (this.lifecycle !== 'starting') return;
    if (loaded !== undefined) {
      this.cacheWrittenAt = loaded.writtenAt;
      for (const c of loaded.clusters) {
        const r = this.records.get(c.name);
        if (r !== undefined) this.applyCache(r, c);
        else this.seeds.set(c.name, c);
      }
    }
    for (const r of this.records.values()) this.subscribe(r);
    this.lifecycle = 'running';
    this.sweepTimer = this.opts.clock.setInterval(() => this.sweepIdle(), this.opts.idleSweepIntervalMs).unref();
    this.opts.ads.start();
    this.updateReady();
  }

  /** Stops the ADS client, fails pending ensure() calls, and writes the cache one last time. */
  async stop(): Promise<void> {
    if (this.lifecycle === 'stopped') return;
    this.lifecycle = 'stopped';
    this.opts.clock.clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.waiters.rejectAll(new OutriggerError('unavailable', 'the sidecar is shutting down'));
    this.opts.ads.stop();
    await this.opts.cache?.flush();
  }

  /**
   * Every declared upstream has an answer: its config (from the hub or the cache), or the
   * hub's word that no such service exists — so a typo in one upstream shows as a warning and
   * `unknown_service` errors, not as a pod that never becomes ready.
   */
  get ready(): boolean {
    for (const name of this.opts.declared) {
      const r = this.records.get(name);
      if (r === undefined || (r.config === undefined && !r.absent)) return false;
    }
    return true;
  }

  /** How long since the hub stream was last connected and in sync; 0 while it is. */
  staleAgeMs(): number {
    if (this.opts.ads.inSync) return 0;
    const now = this.opts.clock.now();
    const since = this.opts.ads.lastInSyncAt ?? this.cacheWrittenAt ?? this.startedAt ?? now;
    return Math.max(0, now - since);
  }

  /**
   * The cluster, usable (config and endpoints known): at once if it is, else once the hub sends
   * it, subscribing to it if needed. Rejects with an OutriggerError for an invalid name, at the
   * on-demand limit, or after timeoutMs (not_found when the hub does not know the cluster,
   * unavailable when the hub cannot be reached).
   */
  async ensure(name: string, options: { timeoutMs?: number } = {}): Promise<ClusterView> {
    const key = parseClusterName(name);
    if (this.lifecycle === 'stopped') throw new OutriggerError('unavailable', 'the cluster manager is stopped');
    let r = this.records.get(key);
    if (r === undefined) r = this.addOnDemand(key);
    r.lastUsedAt = this.opts.clock.now();
    if (isUsable(r)) return r.view;
    const timeoutMs = options.timeoutMs ?? this.opts.ensureTimeoutMs;
    const record = r;
    return this.waiters.wait(key, timeoutMs, () => this.ensureTimeout(record, timeoutMs));
  }

  /** Marks an on-demand cluster as used (the data plane calls this per request): cheap. */
  touch(name: string): void {
    const r = this.records.get(name);
    if (r !== undefined) r.lastUsedAt = this.opts.clock.now();
  }

  /** The current snapshot of a cluster; the same object until it changes. */
  get(name: string): ClusterView | undefined {
    return this.records.get(name)?.view;
  }

  /** Every cluster held, by name, with current last-use times (the admin API's /clusters). */
  list(): ClusterView[] {
    return [...this.records.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((r) => (r.declared || r.view.lastUsedAt === r.lastUsedAt ? r.view : { ...r.view, lastUsedAt: r.lastUsedAt }));
  }

  configDump(): ClusterConfigDump {
    const cache = this.opts.cache;
    return {
      ready: this.ready,
      stale_age_ms: this.staleAgeMs(),
      ads: this.opts.ads.stats(),
      cache: cache === undefined ? undefined : { ...cache.stats(), loaded_written_at: this.cacheWrittenAt },
      clusters: this.list(),
    };
  }

  // ---- subscriptions ----

  private addOnDemand(name: string): ClusterRecord {
    if (this.onDemand >= this.opts.maxOnDemand) {
      throw new OutriggerError('resource_exhausted', `cluster: ${name} cannot be added, at most ${this.opts.maxOnDemand} on-demand clusters are held`, 'cluster');
    }
    const r = newRecord(name, false, this.opts.clock.now());
    this.records.set(name, r);
    this.onDemand++;
    const seed = this.seeds.get(name);
    if (seed !== undefined) {
      this.seeds.delete(name);
      this.applyCache(r, seed);
    }
    this.opts.logger.info('subscribing to an on-demand cluster', { cluster: name, from_cache: seed !== undefined });
    this.subscribe(r);
    if (!isUsable(r)) this.askExistence(r);
    return r;
  }

  /** Beside the subscription: the hub's word that the service does not exist ends the wait at once. */
  private askExistence(r: ClusterRecord): void {
    const exists = this.opts.exists;
    if (exists === undefined) return;
    exists(r.name).then(
      (answer) => {
        if (answer !== false || this.records.get(r.name) !== r || r.config !== undefined || this.lifecycle === 'stopped') return;
        if (!r.absent) {
          r.absent = true;
          r.view = viewOf(r);
          this.opts.logger.info('the hub has no such cluster', { cluster: r.name, declared: false });
        }
        this.waiters.reject(r.name, new OutriggerError('not_found', `cluster ${r.name} does not exist: the hub has no such service`, 'cluster'));
      },
      () => undefined,
    );
  }

  private subscribe(r: ClusterRecord): void {
    if (r.unwatch !== undefined) return;
    const owns = (): boolean => this.records.get(r.name) === r;
    const watcher: ClusterWatcher = {
      onCluster: (c) => owns() && this.onCluster(r, c),
      onEndpoints: (e) => owns() && this.onEndpoints(r, e),
      onDoesNotExist: () => owns() && this.onDoesNotExist(r),
      onError: (err) => owns() && this.onError(r, err),
    };
    r.unwatch = this.opts.ads.watch(r.name, watcher);
  }

  private sweepIdle(): void {
    const now = this.opts.clock.now();
    for (const r of [...this.records.values()]) {
      if (r.declared || this.waiters.has(r.name) || now - r.lastUsedAt < this.opts.onDemandIdleMs) continue;
      r.unwatch?.();
      this.records.delete(r.name);
      this.onDemand--;
      this.opts.logger.info('unsubscribed an idle on-demand cluster', { cluster: r.name, idle_ms: now - r.lastUsedAt });
      this.emit('change', { name: r.name, view: undefined, config: r.config !== undefined, endpoints: r.endpoints !== undefined, removed: true });
      this.persist();
    }
  }

  // ---- updates ----

  private applyCache(r: ClusterRecord, c: PeerCacheCluster): void {
    const config = r.configSource === undefined;
    const endpoints = r.endpointsSource === undefined && c.endpoints !== undefined;
    if (config) {
      r.config = c.config;
      r.configVersion = c.config_version;
      r.configSource = 'cache';
    }
    if (endpoints) {
      r.endpoints = c.endpoints;
      r.endpointsVersion = c.endpoints_version;
      r.endpointsSource = 'cache';
    }
    if (!config && !endpoints) return;
    r.changedAt = c.changed_at;
    this.commit(r, config, endpoints, false);
  }

  private onCluster(r: ClusterRecord, c: DecodedCluster): void {
    const changed = r.config === undefined || canonicalJson(r.config) !== canonicalJson(c.config);
    const confirmed = r.configSource !== 'hub';
    r.config = c.config;
    r.configVersion = c.version;
    r.configSource = 'hub';
    r.absent = false;
    r.clusterError = undefined;
    if (changed) r.changedAt = this.opts.clock.now();
    this.commit(r, changed, false, confirmed);
  }

  private onEndpoints(r: ClusterRecord, e: DecodedEndpoints): void {
    const changed = r.endpoints === undefined || canonicalJson(r.endpoints) !== canonicalJson(e.endpoints);
    const confirmed = r.endpointsSource !== 'hub';
    r.endpoints = e.endpoints;
    r.endpointsVersion = e.version;
    r.endpointsSource = 'hub';
    r.endpointsError = undefined;
    if (changed) r.changedAt = this.opts.clock.now();
    this.commit(r, false, changed, confirmed);
  }

  private onDoesNotExist(r: ClusterRecord): void {
    const config = r.config !== undefined;
    const endpoints = r.endpoints !== undefined;
    const first = !r.absent;
    r.absent = true;
    r.config = r.configVersion = r.configSource = undefined;
    r.endpoints = r.endpointsVersion = r.endpointsSource = undefined;
    if (config || endpoints) r.changedAt = this.opts.clock.now();
    if (first) {
      const msg = config ? 'the hub deleted a cluster' : 'the hub has no such cluster';
      // A declared upstream that does not exist is likely a typo: worth a warning.
      if (r.declared) this.opts.logger.warn(msg, { cluster: r.name, declared: true });
      else this.opts.logger.info(msg, { cluster: r.name, declared: false });
    }
    this.commit(r, config, endpoints, config || endpoints);
  }

  private onError(r: ClusterRecord, err: AdsResourceError): void {
    if (err.typeUrl.endsWith('.Cluster')) r.clusterError = err.message;
    else r.endpointsError = err.message;
    r.view = viewOf(r);
  }

  /** Publishes a record's new state: view, change event, cache, waiters, readiness. */
  private commit(r: ClusterRecord, config: boolean, endpoints: boolean, persist: boolean): void {
    r.view = viewOf(r);
    if (config || endpoints) this.emit('change', { name: r.name, view: r.view, config, endpoints, removed: false });
    if (config || endpoints || persist) this.persist();
    if (isUsable(r)) this.waiters.resolve(r.name, r.view);
    this.updateReady();
  }

  private persist(): void {
    if (this.lifecycle === 'idle' || this.lifecycle === 'starting') return;
    this.opts.cache?.schedule(() => this.snapshot());
  }

  private snapshot(): PeerCacheCluster[] {
    const out: PeerCacheCluster[] = [];
    for (const r of this.records.values()) {
      if (r.config === undefined) continue;
      out.push({
        name: r.name,
        config: r.config,
        config_version: r.configVersion ?? '',
        endpoints: r.endpoints === undefined ? undefined : [...r.endpoints],
        endpoints_version: r.endpointsVersion,
        changed_at: r.changedAt ?? this.opts.clock.now(),
      });
    }
    return out;
  }

  private updateReady(): void {
    if (this.lifecycle === 'idle' || this.lifecycle === 'starting') return;
    const ready = this.ready;
    if (ready === this.wasReady) return;
    this.wasReady = ready;
    this.opts.logger.info(ready ? 'every declared upstream has config' : 'a declared upstream lost its config', { ready });
    this.emit('ready', ready);
  }

  private ensureTimeout(r: ClusterRecord, ms: number): OutriggerError {
    const ads = this.opts.ads;
    if (r.config !== undefined) {
      return new OutriggerError('unavailable', `cluster ${r.name}: its config is known but no endpoints arrived within ${ms} ms`, 'cluster');
    }
    if (ads.inSync || r.absent) {
      return new OutriggerError('not_found', `cluster ${r.name} does not exist: the hub has no such service (waited ${ms} ms)`, 'cluster');
    }
    const why = ads.stats().last_error ?? `the ADS stream is ${ads.state}`;
    return new OutriggerError('unavailable', `cluster ${r.name} is unknown and the hub cannot be reached (${why}); waited ${ms} ms`, 'cluster');
  }
}
