/**
 * The sidecar's xDS client: one Envoy v3 ADS stream carrying CDS and EDS for the clusters the
 * sidecar watches, by name (`<service>.<namespace>`).
 *
 * - Delta (incremental) xDS when the hub offers it: a change of one cluster brings only that
 *   cluster, and a reconnect sends the versions held (initial_resource_versions), so only what
 *   changed meanwhile comes back. A hub that answers UNIMPLEMENTED is spoken to in state of the
 *   world from then on (the fallback is not a reconnect and costs no backoff).
 *
 * - Watching a name adds it to both subscriptions; dropping its last watcher sends the reduced
 *   lists. Changes made in one turn of the event loop go out as one request per type.
 * - Every response is validated whole. A valid one is ACKed (its version_info and nonce) and
 *   applied; an invalid one is NACKed with an error_detail naming the resource and the problem,
 *   and nothing of it is applied.
 * - State of the world: a cluster the hub knew and leaves out of a CDS response is deleted.
 *   A cluster it never sent is reported absent once a response certainly answered a request
 *   naming it (any response to a stream's first request), or after doesNotExistTimeoutMs for
 *   names added mid-stream (a response may have been on its way before the hub saw them).
 * - A lost stream is reopened on the next hub after a full-jitter backoff, with every
 *   subscription and the versions already held; identical state sent again notifies nobody.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { Backoff } from '../../common/backoff.js';
import type { TimerHandle } from '../../common/clock.js';
import { clusterDecoder, type DecodedCluster } from '../resources/cluster-decode.js';
import type { ResourceDecoder } from '../resources/decode-result.js';
import { endpointsDecoder, type DecodedEndpoints } from '../resources/endpoints-decode.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '../type-urls.js';
import { resolveAdsClientOptions, type AdsClientOptions, type ResolvedAdsClientOptions } from './ads-client-options.js';
import { decodeResponse, type ResourceRejection } from './ads-client-response.js';
import { adsClientMethod, deltaClientMethod, type ClientDeltaRequest, type ClientDeltaResponse, type ClientDiscoveryRequest, type ClientDiscoveryResponse } from './ads-client-wire.js';

export type { AdsClientOptions, AdsNodeIdentity } from './ads-client-options.js';

/** A resource of a rejected response: the last good state is kept. */
export interface AdsResourceError {
  readonly name: string;
  readonly typeUrl: string;
  /** The rejected version_info. */
  readonly version: string;
  readonly message: string;
}

/** Callbacks for one cluster name; each is called only on a real change. */
export interface ClusterWatcher {
  onCluster(cluster: DecodedCluster): void;
  onEndpoints(endpoints: DecodedEndpoints): void;
  /** The hub says there is no such cluster (it was deleted, or never existed). */
  onDoesNotExist(name: string): void;
  onError(error: AdsResourceError): void;
}

/**
 * idle: not started. connecting: a stream is open, nothing heard yet. connected: the hub
 * answered (or the channel is up). backoff: waiting to open the next stream. stopped: for good.
 */
export type AdsClientState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

export type TypeKey = 'cds' | 'eds';

export interface AdsNackInfo {
  type: TypeKey;
  version: string;
  nonce: string;
  message: string;
  at: number;
}

export interface AdsClientStats {
  state: AdsClientState;
  /** Connected, and the hub has answered this stream's cluster subscription. */
  in_sync: boolean;
  hub: string | undefined;
  /** Clock time of the last accepted response. */
  last_update_at: number | undefined;
  /** Clock time the client was last in sync (now, while it is). */
  last_in_sync_at: number | undefined;
  /** Accepted version per type ('' before the first). */
  versions: Record<TypeKey, string>;
  /** Accepted responses per type. */
  updates: Record<TypeKey, number>;
  nacks: Record<TypeKey, number>;
  /** Streams opened after the first. */
  reconnects: number;
  last_error: string | undefined;
  last_nack: AdsNackInfo | undefined;
  subscriptions: number;
}

export type AdsClientEvents = {
  /** The state or in-sync flag changed. */
  state: [state: AdsClientState, inSync: boolean];
  nack: [nack: AdsNackInfo];
  /** The hub ended a stream refusing this client's credentials or rights (UNAUTHENTICATED, PERMISSION_DENIED). */
  refused: [status: grpc.status, details: string];
};

interface TypeState {
  readonly key: TypeKey;
  readonly typeUrl: string;
  readonly decoder: ResourceDecoder<DecodedCluster> | ResourceDecoder<DecodedEndpoints>;
  /** Last accepted version_info: kept across streams, so a new stream starts from it. */
  version: string;
  updates: number;
  nacks: number;
  /** On the current stream: the last nonce received and the last names sent. */
  nonce: string;
  sentNames: string[] | undefined;
  /** Delta: the version of each resource held, kept across streams (a new stream's initial_resource_versions). */
  readonly held: Map<string, string>;
}

interface Entry {
  readonly name: string;
  readonly watchers: Set<ClusterWatcher>;
  cluster: DecodedCluster | undefined;
  endpoints: DecodedEndpoints | undefined;
  presence: 'unknown' | 'present' | 'absent';
  /** Sent in a CDS request on the current stream. */
  sent: boolean;
  absentTimer: TimerHandle | undefined;
}

interface Stream {
  readonly hub: string;
  readonly client: grpc.Client;
  readonly delta: boolean;
  readonly call: grpc.ClientDuplexStream<ClientDiscoveryRequest | ClientDeltaRequest, ClientDiscoveryResponse | ClientDeltaResponse>;
  nodeSent: boolean;
  /** The names of the stream's first CDS request: every CDS response on the stream answers them. */
  initialNames: Set<string> | undefined;
  cdsAnswered: boolean;
  connected: boolean;
}

const INVALID_ARGUMENT = 3;

export class AdsClient extends EventEmitter<AdsClientEvents> {
  private readonly opts: ResolvedAdsClientOptions;
  private readonly backoff: Backoff;
  private readonly entries = new Map<string, Entry>();
  private readonly types: Record<TypeKey, TypeState>;
  private stream: Stream | undefined;
  private current: AdsClientState = 'idle';
  private wasInSync = false;
  private hubIndex = 0;
  private streamsOpened = 0;
  private flushQueued = false;
  private lastUpdateAt: number | undefined;
  private lastInSync: number | undefined;
  private lastError: string | undefined;
  private lastNack: AdsNackInfo | undefined;
  /** Hubs that answered a delta stream with UNIMPLEMENTED: spoken to in state of the world. */
  private readonly sotwHubs = new Set<string>();

  constructor(options: AdsClientOptions) {
    super();
    this.opts = resolveAdsClientOptions(options);
    this.backoff = new Backoff(this.opts.clock, this.opts.backoff);
    const type = (key: TypeKey, typeUrl: string, decoder: TypeState['decoder']): TypeState => ({
      key,
      typeUrl,
      decoder,
      version: '',
      updates: 0,
      nacks: 0,
      nonce: '',
      sentNames: undefined,
      held: new Map(),
    });
    this.types = { cds: type('cds', CLUSTER_TYPE_URL, clusterDecoder), eds: type('eds', ENDPOINT_TYPE_URL, endpointsDecoder) };
  }

  get state(): AdsClientState {
    return this.current;
  }

  get inSync(): boolean {
    const s = this.stream;
    return s !== undefined && s.connected && (s.cdsAnswered || this.types.cds.sentNames === undefined);
  }

  /** Clock time the client was last in sync: now while it is, undefined if never. */
  get lastInSyncAt(): number | undefined {
    return this.inSync ? this.opts.clock.now() : this.lastInSync;
  }

  start(): void {
    if (this.current !== 'idle') return;
    this.connect();
  }

  stop(): void {
    if (this.current === 'stopped') return;
    this.backoff.cancel();
    this.endStream('the client stopped');
    for (const e of this.entries.values()) this.clearAbsentTimer(e);
    this.setState('stopped');
  }

  /**
   * Watches a cluster's config and endpoints; returns the function that stops watching.
   * A new watcher of a name already known gets its current state right after this returns.
   */
  watch(name: string, watcher: ClusterWatcher): () => void {
    let entry = this.entries.get(name);
    if (entry === undefined) {
      entry = { name, watchers: new Set(), cluster: undefined, endpoints: undefined, presence: 'unknown', sent: false, absentTimer: undefined };
      this.entries.set(name, entry);
      this.queueFlush();
    }
    const e = entry;
    e.watchers.add(watcher);
    if (e.cluster !== undefined || e.endpoints !== undefined || e.presence === 'absent') {
      queueMicrotask(() => {
        if (!e.watchers.has(watcher) || this.entries.get(name) !== e) return;
        if (e.presence === 'absent') this.call(() => watcher.onDoesNotExist(name));
        if (e.cluster !== undefined) this.call(() => watcher.onCluster(e.cluster!));
        if (e.endpoints !== undefined) this.call(() => watcher.onEndpoints(e.endpoints!));
      });
    }
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      e.watchers.delete(watcher);
      if (e.watchers.size === 0) this.queueFlush();
    };
  }

  /** The names currently subscribed, sorted. */
  subscriptions(): string[] {
    return [...this.entries.values()].filter((e) => e.watchers.size > 0).map((e) => e.name).sort();
  }

  stats(): AdsClientStats {
    const { cds, eds } = this.types;
    return {
      state: this.current,
      in_sync: this.inSync,
      hub: this.stream?.hub,
      last_update_at: this.lastUpdateAt,
      last_in_sync_at: this.lastInSyncAt,
      versions: { cds: cds.version, eds: eds.version },
      updates: { cds: cds.updates, eds: eds.updates },
      nacks: { cds: cds.nacks, eds: eds.nacks },
      reconnects: Math.max(0, this.streamsOpened - 1),
      last_error: this.lastError,
      last_nack: this.lastNack,
      subscriptions: this.subscriptions().length,
    };
  }

  // ---- the stream ----

  private connect(): void {
    if (this.current === 'stopped') return;
    const hubs = this.opts.hubs;
    const hub = hubs[this.hubIndex % hubs.length]!;
    this.hubIndex++;
    this.streamsOpened++;
    const delta = this.opts.protocol === 'delta' && !this.sotwHubs.has(hub);
    const method = delta ? deltaClientMethod() : adsClientMethod();
    let client: grpc.Client;
    try {
      client = new grpc.Client(hub, this.opts.credentials(), this.opts.channelOptions);
    } catch (err) {
      // A target grpc-js cannot parse: counted as a failed attempt, so the other hubs still get theirs.
      this.lastError = `cannot connect to ${hub}: ${err instanceof Error ? err.message : String(err)}`;
      this.opts.logger.error('xds: invalid hub address', { hub, error: this.lastError });
      this.backoff.schedule(() => this.connect());
      this.setState('backoff');
      return;
    }
    const call = client.makeBidiStreamRequest<ClientDiscoveryRequest | ClientDeltaRequest, ClientDiscoveryResponse | ClientDeltaResponse>(
      method.path,
      method.serialize as (r: ClientDiscoveryRequest | ClientDeltaRequest) => Buffer,
      method.deserialize as (b: Buffer) => ClientDiscoveryResponse | ClientDeltaResponse,
    );
    const stream: Stream = { hub, client, delta, call, nodeSent: false, initialNames: undefined, cdsAnswered: false, connected: false };
    this.stream = stream;
    call.on('data', (res: ClientDiscoveryResponse | ClientDeltaResponse) => {
      if (stream.delta) this.onDeltaResponse(stream, res as ClientDeltaResponse);
      else this.onResponse(stream, res as ClientDiscoveryResponse);
    });
    // The 'status' event follows every error and says the same.
    call.on('error', () => {});
    call.on('status', (s: grpc.StatusObject) => this.onStreamEnd(stream, s));
    // With nothing subscribed no response will come: an open channel is then what "connected" means.
    client.waitForReady(Infinity, (err) => {
      if (err === undefined && this.stream === stream) this.markConnected(stream);
    });
    this.setState('connecting');
    this.opts.logger.debug('xds: opening an ADS stream', { hub, attempt: this.streamsOpened, protocol: delta ? 'delta' : 'sotw' });
    this.sendSubscriptions(stream);
  }

  private onStreamEnd(stream: Stream, status: grpc.StatusObject): void {
    if (this.stream !== stream) return;
    if (stream.delta && status.code === grpc.status.UNIMPLEMENTED) {
      this.sotwHubs.add(stream.hub);
      this.opts.logger.info('xds: the hub does not serve delta xDS; using state of the world', { hub: stream.hub });
      this.endStream('delta xDS unimplemented');
      // The same hub again, in state of the world: not a reconnect.
      this.hubIndex--;
      this.streamsOpened--;
      this.connect();
      return;
    }
    const reason = `${grpc.status[status.code] ?? status.code}: ${status.details}`;
    this.lastError = reason;
    if (status.code === grpc.status.UNAUTHENTICATED || status.code === grpc.status.PERMISSION_DENIED) {
      this.opts.logger.error('xds: the hub refused this sidecar: check its identity (hub_token_file, hub_tls)', { hub: stream.hub, reason });
      this.emit('refused', status.code, status.details);
    }
    this.endStream(reason);
    if (this.current === 'stopped') return;
    const delay = this.backoff.schedule(() => this.connect());
    this.setState('backoff');
    const fields = { hub: stream.hub, reason, retry_in_ms: delay, next_hub: this.opts.hubs[this.hubIndex % this.opts.hubs.length] };
    // Losing a working stream is news; each further failed attempt while the hub is away is not.
    if (stream.connected) this.opts.logger.warn('xds: the ADS stream ended; keeping the last good config and retrying', fields);
    else this.opts.logger.info('xds: cannot reach the hub; retrying', fields);
  }

  /** Forgets the current stream (if any) and everything that was only true on it. */
  private endStream(reason: string): void {
    const stream = this.stream;
    if (stream === undefined) return;
    if (this.inSync) this.lastInSync = this.opts.clock.now();
    this.stream = undefined;
    for (const t of Object.values(this.types)) {
      t.nonce = '';
      t.sentNames = undefined;
    }
    for (const e of this.entries.values()) {
      e.sent = false;
      this.clearAbsentTimer(e);
    }
    stream.call.cancel();
    stream.client.close();
    this.opts.logger.debug('xds: ADS stream closed', { hub: stream.hub, reason });
  }

  private markConnected(stream: Stream): void {
    if (stream.connected) return;
    stream.connected = true;
    this.setState('connected');
  }

  private setState(next: AdsClientState): void {
    const inSync = this.inSync;
    if (next === this.current && inSync === this.wasInSync) return;
    this.current = next;
    this.wasInSync = inSync;
    this.emit('state', next, inSync);
  }

  // ---- requests ----

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      for (const [name, e] of this.entries) {
        if (e.watchers.size > 0) continue;
        this.clearAbsentTimer(e);
        this.entries.delete(name);
        // Asked for again later, the name is new to the stream: the first request no longer counts.
        this.stream?.initialNames?.delete(name);
      }
      if (this.stream !== undefined) this.sendSubscriptions(this.stream);
    });
  }

  /** Sends each type's subscription where it differs from what the stream was last told. */
  private sendSubscriptions(stream: Stream): void {
    const names = this.subscriptions();
    for (const t of [this.types.cds, this.types.eds]) {
      const sent = t.sentNames;
      // An empty first request would subscribe to every cluster (the wildcard).
      if (sent === undefined ? names.length === 0 : sameList(sent, names)) continue;
      if (stream.delta) this.sendDelta(stream, t, names, '', null);
      else this.send(stream, t, names, null);
    }
  }

  /**
   * A delta request: the names added and dropped since the last one, and on the stream's first
   * request for the type the versions already held; with a nonce, it ACKs (or NACKs) a response.
   */
  private sendDelta(stream: Stream, t: TypeState, names: string[], nonce: string, error: string | null): void {
    const before = t.sentNames;
    const wanted = new Set(names);
    const had = new Set(before ?? []);
    const initial: Record<string, string> = {};
    if (before === undefined) for (const name of names) {
      const v = t.held.get(name);
      if (v !== undefined) initial[name] = v;
    }
    for (const name of t.held.keys()) if (!wanted.has(name)) t.held.delete(name);
    const request: ClientDeltaRequest = {
      node: stream.nodeSent ? null : this.opts.node,
      type_url: t.typeUrl,
      resource_names_subscribe: names.filter((n) => !had.has(n)),
      resource_names_unsubscribe: [...had].filter((n) => !wanted.has(n)),
      initial_resource_versions: initial,
      response_nonce: nonce,
      error_detail: error === null ? null : { code: INVALID_ARGUMENT, message: error },
    };
    stream.nodeSent = true;
    t.sentNames = names;
    // Delta has no full-state answer to settle absence: every name waits for the hub's word or the timer.
    if (t.key === 'cds') {
      stream.initialNames ??= new Set();
      this.noteSentClusters(stream, request.resource_names_subscribe);
    }
    stream.call.write(request);
  }

  private send(stream: Stream, t: TypeState, names: string[], error: string | null): void {
    if (stream.delta) {
      this.sendDelta(stream, t, names, t.nonce, error);
      return;
    }
    const request: ClientDiscoveryRequest = {
      version_info: t.version,
      node: stream.nodeSent ? null : this.opts.node,
      resource_names: names,
      type_url: t.typeUrl,
      response_nonce: t.nonce,
      error_detail: error === null ? null : { code: INVALID_ARGUMENT, message: error },
    };
    stream.nodeSent = true;
    t.sentNames = names;
    if (t.key === 'cds') this.noteSentClusters(stream, names);
    stream.call.write(request);
  }

  private noteSentClusters(stream: Stream, names: readonly string[]): void {
    const first = stream.initialNames === undefined;
    if (first) stream.initialNames = new Set(names);
    for (const name of names) {
      const e = this.entries.get(name);
      if (e === undefined || e.sent) continue;
      e.sent = true;
      // Names of the first request are settled by the first response; later ones need a timer.
      if (!first && e.presence === 'unknown') {
        e.absentTimer = this.opts.clock
          .setTimeout(() => {
            e.absentTimer = undefined;
            if (e.presence === 'unknown' && this.entries.get(name) === e) this.markAbsent(e);
          }, this.opts.doesNotExistTimeoutMs)
          .unref();
      }
    }
  }

  // ---- responses ----

  private onResponse(stream: Stream, response: ClientDiscoveryResponse): void {
    if (this.stream !== stream) return;
    const t = response.type_url === CLUSTER_TYPE_URL ? this.types.cds : response.type_url === ENDPOINT_TYPE_URL ? this.types.eds : undefined;
    if (t === undefined) {
      this.opts.logger.debug('xds: ignoring a response of a type this client did not ask for', { type_url: response.type_url });
      return;
    }
    t.nonce = response.nonce;
    if (t.key === 'cds') stream.cdsAnswered = true;
    this.markConnected(stream);
    const result = t.key === 'cds' ? decodeResponse(clusterDecoder, response) : decodeResponse(endpointsDecoder, response);
    if (!result.ok) {
      this.nack(stream, t, response, result.detail, result.rejections);
    } else {
      t.version = response.version_info;
      t.updates++;
      this.lastUpdateAt = this.opts.clock.now();
      // ACK first: a watcher's work must not delay the hub's view of this client.
      this.send(stream, t, this.subscriptions(), null);
      // The hub handles a stream's first request before it sends anything on the stream, so
      // every CDS response of the stream answers the names of its first request.
      if (t.key === 'cds') this.applyClusters(result.resources as ReadonlyMap<string, DecodedCluster>, stream.initialNames);
      else this.applyEndpoints(result.resources as ReadonlyMap<string, DecodedEndpoints>);
    }
    // A stream that got this far works: the next loss starts the backoff from the beginning.
    this.backoff.reset();
    this.setState(this.current);
  }

  /** A delta response: only changed resources (each with its version) and removed names. */
  private onDeltaResponse(stream: Stream, response: ClientDeltaResponse): void {
    if (this.stream !== stream) return;
    const t = response.type_url === CLUSTER_TYPE_URL ? this.types.cds : response.type_url === ENDPOINT_TYPE_URL ? this.types.eds : undefined;
    if (t === undefined) return;
    t.nonce = response.nonce;
    if (t.key === 'cds') stream.cdsAnswered = true;
    this.markConnected(stream);
    const asSotw: ClientDiscoveryResponse = {
      version_info: response.system_version_info,
      resources: response.resources.map((r) => r.resource ?? { type_url: '', value: Buffer.alloc(0) }),
      type_url: response.type_url,
      nonce: response.nonce,
    };
    const result = t.key === 'cds' ? decodeResponse(clusterDecoder, asSotw) : decodeResponse(endpointsDecoder, asSotw);
    if (!result.ok) {
      this.nack(stream, t, asSotw, result.detail, result.rejections);
    } else {
      t.version = response.system_version_info;
      t.updates++;
      this.lastUpdateAt = this.opts.clock.now();
      for (const r of response.resources) if (this.entries.has(r.name)) t.held.set(r.name, r.version);
      for (const name of response.removed_resources) t.held.delete(name);
      this.send(stream, t, this.subscriptions(), null);
      if (t.key === 'cds') {
        this.applyClusters(result.resources as ReadonlyMap<string, DecodedCluster>, undefined, false);
        for (const name of response.removed_resources) {
          const e = this.entries.get(name);
          if (e !== undefined) this.markAbsent(e);
        }
      } else this.applyEndpoints(result.resources as ReadonlyMap<string, DecodedEndpoints>);
    }
    this.backoff.reset();
    this.setState(this.current);
  }

  private nack(stream: Stream, t: TypeState, response: ClientDiscoveryResponse, detail: string, rejections: readonly ResourceRejection[]): void {
    t.nacks++;
    const info: AdsNackInfo = { type: t.key, version: response.version_info, nonce: response.nonce, message: detail, at: this.opts.clock.now() };
    this.lastNack = info;
    this.send(stream, t, this.subscriptions(), detail);
    this.opts.logger.warn('xds: rejected a response (NACK); keeping the last good version', {
      hub: stream.hub,
      type: t.key,
      rejected_version: response.version_info,
      kept_version: t.version,
      error_detail: detail,
    });
    this.emit('nack', info);
    for (const r of rejections) {
      const e = r.name === undefined ? undefined : this.entries.get(r.name);
      if (e === undefined) continue;
      const error: AdsResourceError = { name: e.name, typeUrl: t.typeUrl, version: response.version_info, message: r.message };
      for (const w of [...e.watchers]) this.call(() => w.onError(error));
    }
  }

  private applyClusters(clusters: ReadonlyMap<string, DecodedCluster>, covered: ReadonlySet<string> | undefined, fullState = true): void {
    for (const e of [...this.entries.values()]) {
      const c = clusters.get(e.name);
      if (c === undefined) {
        // A delta response names only what changed: a cluster left out is unchanged.
        if (!fullState) continue;
        // Absent from a full-state response: deleted if the hub had sent it, never there if
        // the response certainly answers a request naming it.
        if (e.presence === 'present' || (e.presence === 'unknown' && covered?.has(e.name) === true)) this.markAbsent(e);
        continue;
      }
      this.clearAbsentTimer(e);
      e.presence = 'present';
      const changed = e.cluster === undefined || !clusterDecoder.equal(e.cluster, c);
      e.cluster = c;
      if (changed) for (const w of [...e.watchers]) this.call(() => w.onCluster(c));
    }
  }

  private applyEndpoints(assignments: ReadonlyMap<string, DecodedEndpoints>): void {
    for (const [name, a] of assignments) {
      const e = this.entries.get(name);
      if (e === undefined) continue;
      const changed = e.endpoints === undefined || !endpointsDecoder.equal(e.endpoints, a);
      e.endpoints = a;
      if (changed) for (const w of [...e.watchers]) this.call(() => w.onEndpoints(a));
    }
  }

  private markAbsent(e: Entry): void {
    this.clearAbsentTimer(e);
    if (e.presence === 'absent') return;
    e.presence = 'absent';
    // A cluster's endpoints go with it (Envoy drops a removed cluster's EDS state too).
    e.cluster = undefined;
    e.endpoints = undefined;
    for (const w of [...e.watchers]) this.call(() => w.onDoesNotExist(e.name));
  }

  private clearAbsentTimer(e: Entry): void {
    if (e.absentTimer === undefined) return;
    this.opts.clock.clearTimeout(e.absentTimer);
    e.absentTimer = undefined;
  }

  /** A throwing watcher is logged; it must not break the stream or the other watchers. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.logger.error('xds: a cluster watcher threw', { error: err instanceof Error ? err.message : String(err) });
    }
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
