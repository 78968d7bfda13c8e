/**
 * The Watch fan-out: one registry subscription for every watcher, the recent-change history for
 * resumes, and the set of open streams. Changes reach each stream synchronously and in registry
 * order, and the snapshot of a new stream is taken in the same tick it starts listening, so a
 * watcher neither misses nor repeats a change.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Caller } from '../auth/caller.js';
import type { Clock } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { RegistryChange } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import { readableOnly, visibleServices } from './access-rules.js';
import { optionalNamespace, optionalService } from './grpc-mapping.js';
import { WatchHistory } from './watch-history.js';
import { SharedChange, WatchStream, matchesFilter, type EventEncoder, type WatchCall, type WatchFilter } from './watch-stream.js';

/** Response metadata: whether the stream continues a previous one (no snapshot follows). */
export const WATCH_RESUMED_KEY = 'outrigger-watch-resumed';

export interface WatchHubOptions {
  registry: Registry;
  metrics: HubMetrics;
  clock: Clock;
  /** Changes a watcher may lag behind; also how many recent changes are kept for resumes. */
  bufferLimit: number;
  encode: EventEncoder;
}

export class WatchHub {
  /** Names this registry's history: a resume point from another hub (or a restart) is refused. */
  readonly epoch = randomUUID();
  private readonly streams = new Set<WatchStream>();
  private readonly history: WatchHistory;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly options: WatchHubOptions) {
    this.history = new WatchHistory(options.bufferLimit, options.registry.version);
    this.unsubscribe = options.registry.subscribe(this.onChange);
  }

  /**
   * Starts serving a Watch call; throws an OutriggerError for a bad request, or one for a
   * namespace or service the caller may not read. A wider watch sees only what it may read.
   */
  open(call: WatchCall, caller: Caller, onEnd?: () => void): WatchStream {
    if (this.closed) throw new OutriggerError('unavailable', 'the hub is shutting down; watch again shortly');
    const req = call.request;
    const filter: WatchFilter = {};
    const namespace = optionalNamespace(req.namespace);
    const service = optionalService(req.service);
    if (namespace !== undefined) filter.namespace = namespace;
    if (service !== undefined) filter.service = service;
    Object.assign(filter, visibleServices(readableOnly(caller, namespace, namespace !== undefined ? service : undefined)));

    const { registry, metrics, clock, bufferLimit, encode } = this.options;
    const resumed = req.resume !== undefined && req.resume.epoch === this.epoch ? this.history.since(req.resume.version ?? 0) : undefined;
    const stream = new WatchStream(call, { filter, limit: bufferLimit, encode, metrics, clock, onEnd: (s) => {
      this.streams.delete(s);
      onEnd?.();
    } });
    this.streams.add(stream);
    const header = new grpc.Metadata();
    header.set(WATCH_RESUMED_KEY, resumed === undefined ? 'false' : 'true');
    call.sendMetadata(header);
    if (resumed === undefined) {
      stream.sendSnapshot(registry.discover({ ...filter, healthyOnly: false }), registry.version, this.epoch);
    } else {
      const now = clock.monotonic();
      for (const change of resumed) {
        if (matchesFilter(filter, change.instance)) stream.offer(new SharedChange(change, now, encode));
      }
    }
    return stream;
  }

  /** Ends every stream (clients should watch again) and stops listening to the registry. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    const error = new OutriggerError('unavailable', 'the hub closed this watch; watch again');
    for (const s of [...this.streams]) s.end(error);
  }

  private readonly onChange = (change: RegistryChange): void => {
    if (change.kind !== 'instance') {
      this.history.advance(change.version);
      return;
    }
    this.history.record(change);
    if (this.streams.size === 0) return;
    const shared = new SharedChange(change, this.options.clock.monotonic(), this.options.encode);
    for (const s of this.streams) s.offer(shared);
  };
}
