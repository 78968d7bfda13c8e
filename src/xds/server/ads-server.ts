import * as grpc from '@grpc/grpc-js';
import { systemClock, type Clock, type TimerHandle } from '../../common/clock.js';
import { asOutriggerError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import type { HubMetrics } from '../../metrics/hub-metrics.js';
import { serviceKey } from '../../model/names.js';
import { type RegistryChange } from '../../registry/model.js';
import type { Registry } from '../../registry/registry.js';
import { adsServiceDefinition, type AdsServiceImplementation, type DeltaCall, type SotwCall } from '../ads-service.js';
import { ResponseEncoder } from './discovery-response.js';
import { ResourceCache, type ChangedResources, type DirtyService } from './resource-cache.js';
import { SendQueue } from './send-queue.js';
import type { AdsStream, AdsStreamInfo, ServedStream, StreamEnv } from './ads-stream.js';
import { DeltaStream } from './delta-stream.js';
import { SotwStream } from './sotw-stream.js';
import { openAdsAccess, type AdsAccess, type AdsStreamAccess } from './stream-access.js';
import { SubscriptionIndex } from './subscription-index.js';
import { WriteBudget } from './write-budget.js';

export interface AdsServerOptions {
  registry: Registry;
  metrics: HubMetrics;
  logger?: Logger;
  clock?: Clock;
  /** Registry changes within this window go out as one push. */
  coalesceMs?: number;
  /**
   * Streams served per event-loop turn: bounds the work done at once when thousands of streams
   * (re)connect together, or one push reaches thousands of streams.
   */
  maxConcurrentInitial?: number;
  /** Admits each stream and says what it may receive; default: everything to everyone. */
  access?: AdsAccess;
  /**
   * Response bytes handed to connections and not yet drained, across every stream, past which
   * streams wait their turn to write: bounds the hub's memory while slow readers take in
   * thousands of responses (first responses in a reconnect storm, or a push).
   */
  maxBytesInFlight?: number;
  /** A write not drained after this long no longer counts against maxBytesInFlight (its reader stalled). */
  writeStallMs?: number;
}

export const DEFAULT_COALESCE_MS = 10;
export const DEFAULT_MAX_CONCURRENT_INITIAL = 256;
export const DEFAULT_MAX_BYTES_IN_FLIGHT = 32 * 1024 * 1024;
export const DEFAULT_WRITE_STALL_MS = 10_000;

let definition: grpc.ServiceDefinition<AdsServiceImplementation> | undefined;

/**
 * The hub's xDS control plane: Envoy v3 Aggregated Discovery Service, state of the world, over
 * the registry. Resources are rebuilt and encoded once per (coalesced) change in a shared
 * cache; a change is pushed only to the streams subscribed to what changed.
 */
export class AdsServer {
  private readonly registry: Registry;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly coalesceMs: number;
  private readonly access: AdsAccess;
  private readonly env: StreamEnv;
  private readonly streams = new Set<AdsStream<never>>();
  private readonly dirty = new Map<string, DirtyService>();
  private readonly unsubscribe: () => void;
  private timer: TimerHandle | undefined;
  private firstChangeAt = 0;
  private nextId = 0;
  private closed = false;

  constructor(opts: AdsServerOptions) {
    this.registry = opts.registry;
    this.logger = (opts.logger ?? silentLogger).child({ component: 'xds' });
    this.clock = opts.clock ?? systemClock;
    this.coalesceMs = Math.max(0, opts.coalesceMs ?? DEFAULT_COALESCE_MS);
    this.access = opts.access ?? openAdsAccess;
    const cache = new ResourceCache(this.registry, this.logger);
    cache.buildAll();
    const budget = new WriteBudget({ maxBytes: Math.max(1, opts.maxBytesInFlight ?? DEFAULT_MAX_BYTES_IN_FLIGHT), stallMs: Math.max(1, opts.writeStallMs ?? DEFAULT_WRITE_STALL_MS), clock: this.clock });
    const queue = new SendQueue<ServedStream>(Math.max(1, opts.maxConcurrentInitial ?? DEFAULT_MAX_CONCURRENT_INITIAL), budget);
    budget.onOpen(() => queue.resume());
    this.env = {
      cache,
      encoder: new ResponseEncoder(),
      index: new SubscriptionIndex<ServedStream>(),
      queue,
      budget,
      metrics: opts.metrics,
      logger: this.logger,
      clock: this.clock,
    };
    this.unsubscribe = this.registry.subscribe((change) => this.onChange(change));
  }

  addTo(server: grpc.Server): void {
    definition ??= adsServiceDefinition();
    server.addService(definition, {
      StreamAggregatedResources: (call: SotwCall) => this.accept(call, (id, access) => new SotwStream(id, call, this.env, access)),
      DeltaAggregatedResources: (call: DeltaCall) => this.accept(call, (id, access) => new DeltaStream(id, call, this.env, access)),
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty.clear();
    this.env.queue.close();
    this.env.budget.close();
    for (const stream of [...this.streams]) {
      stream.terminate(grpc.status.UNAVAILABLE, 'the hub is shutting down');
      this.drop(stream);
    }
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /**
   * Open streams, streams waiting for their turn to write, DiscoveryResponse bodies encoded so
   * far (a body is shared by every stream asking for the same thing at the same version), bytes
   * of responses in flight, and writes that stopped counting because their reader stalled.
   */
  get stats(): { streams: number; queued: number; encodedBodies: number; bytesInFlight: number; stalledWrites: number } {
    const { queue, encoder, budget } = this.env;
    return { streams: this.streams.size, queued: queue.size, encodedBodies: encoder.encodedBodies, bytesInFlight: budget.bytes, stalledWrites: budget.stalled };
  }

  /** Every open stream: node, subscriptions, sent/acked versions, last NACK (for the admin API). */
  describeStreams(): AdsStreamInfo[] {
    return [...this.streams].map((s) => s.describe());
  }

  private accept<Req>(call: grpc.ServerDuplexStream<Req, Buffer>, make: (id: number, access: AdsStreamAccess) => AdsStream<Req>): void {
    if (this.closed) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'the hub is shutting down' });
      return;
    }
    // Requests wait, unread, until the stream is admitted.
    this.access(call).then(
      (access) => {
        if (this.closed || call.cancelled) {
          access.release();
          if (!call.cancelled) call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'the hub is shutting down' });
          return;
        }
        this.serve(call, make(++this.nextId, access), access);
      },
      (err: unknown) => {
        const e = asOutriggerError(err);
        if (!call.cancelled) call.emit('error', { code: e.grpcStatus, details: e.message });
      },
    );
  }

  private serve<Req>(call: grpc.ServerDuplexStream<Req, Buffer>, stream: AdsStream<Req>, access: AdsStreamAccess): void {
    this.streams.add(stream);
    access.attach((code, details) => {
      stream.terminate(code, details);
      this.drop(stream);
    });
    this.env.metrics.subscribers.inc({ api: 'xds' });
    call.on('data', (req: Req) => {
      try {
        stream.onRequest(req);
      } catch (err) {
        const e = asOutriggerError(err);
        this.logger.warn('xds: closing a stream after an invalid request', { stream: stream.id, node: stream.node, field: e.field, error: e.message });
        stream.terminate(e.grpcStatus, e.field === undefined ? e.message : `${e.field}: ${e.message}`);
        this.drop(stream);
      }
    });
    call.on('end', () => {
      stream.end();
      this.drop(stream);
    });
    const gone = (): void => this.drop(stream);
    call.on('cancelled', gone);
    call.on('error', gone);
    call.on('close', gone);
  }

  private drop(stream: AdsStream<never>): void {
    stream.dispose();
    if (!this.streams.delete(stream)) return;
    this.env.metrics.subscribers.dec({ api: 'xds' });
    this.logger.debug('xds stream closed', { stream: stream.id, node: stream.node });
  }

  private onChange(change: RegistryChange): void {
    if (change.kind === 'namespace') return;
    const subject = change.kind === 'service' ? change.service : change.instance;
    const namespace = subject.namespace;
    const name = change.kind === 'service' ? change.service.name : change.instance.service;
    const key = serviceKey(name, namespace);
    const entry = this.dirty.get(key);
    if (entry === undefined) this.dirty.set(key, { namespace, name, config: change.kind === 'service' });
    else entry.config ||= change.kind === 'service';
    // The window starts at the first change and is not extended by later ones, so a steady
    // trickle of changes cannot postpone pushes forever.
    if (this.timer === undefined) {
      this.firstChangeAt = this.clock.monotonic();
      this.timer = this.clock.setTimeout(() => this.flush(), this.coalesceMs).unref();
    }
  }

  private flush(): void {
    this.timer = undefined;
    if (this.closed) return;
    const services = [...this.dirty.values()];
    this.dirty.clear();
    const { index } = this.env;
    const changed = this.env.cache.rebuild(services, (type, name) => index.subscribers(type, name).size > 0 || index.wildcard(type).size > 0);
    if (changed.size === 0) return;
    this.env.encoder.clear();
    this.notify(changed, this.firstChangeAt);
  }

  private notify(changed: ChangedResources, changeAt: number): void {
    const { index } = this.env;
    for (const [type, names] of changed) {
      for (const stream of index.wildcard(type)) stream.markChanged(type, names, changeAt);
      for (const name of names) {
        for (const stream of index.subscribers(type, name)) stream.markChanged(type, [name], changeAt);
      }
    }
  }
}
