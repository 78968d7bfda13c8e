/**
 * One Watch stream: a snapshot, then the matching changes, written as fast as the client reads.
 * Changes wait in a bounded queue of this stream's own while the client's window is full; a
 * watcher that falls further behind than the bound is ended with RESOURCE_EXHAUSTED, because an
 * unbounded queue per slow watcher is how a hub runs out of memory. A fresh snapshot is cheaper
 * than the backlog anyway.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Clock } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { Instance } from '../registry/model.js';
import { endServerStream, endStatusName } from '../wire/grpc-errors.js';
import type { WatchEvent, WatchRequest } from '../wire/messages.js';
import { instanceToWire } from './grpc-mapping.js';
import type { InstanceChangeRecord } from './watch-history.js';

/** Instances per snapshot message: far below grpc's 4 MB default message limit. */
export const SNAPSHOT_CHUNK = 500;

export interface WatchFilter {
  namespace?: string;
  service?: string;
  /** Services the watcher may read; everything when left out. */
  visible?: (namespace: string, service: string) => boolean;
}

export function matchesFilter(filter: WatchFilter, inst: Instance): boolean {
  return (
    (filter.namespace === undefined || inst.namespace === filter.namespace) &&
    (filter.service === undefined || inst.service === filter.service) &&
    (filter.visible === undefined || filter.visible(inst.namespace, inst.service))
  );
}

export type EventEncoder = (event: WatchEvent) => Buffer;

/** A change as fanned out: encoded once, on first need, and shared by every watcher it goes to. */
export class SharedChange {
  private encoded: Buffer | undefined;

  constructor(
    readonly change: InstanceChangeRecord,
    /** Clock.monotonic() when the hub saw the change, for push latency. */
    readonly observedAt: number,
    private readonly encode: EventEncoder,
  ) {}

  get bytes(): Buffer {
    if (this.encoded === undefined) {
      const c = this.change;
      this.encoded = this.encode({
        version: c.version,
        change: {
          op: c.op === 'upsert' ? 'CHANGE_OP_UPSERT' : 'CHANGE_OP_REMOVE',
          instance: instanceToWire(c.instance),
          ...(c.reason !== undefined ? { reason: c.reason } : {}),
        },
      });
    }
    return this.encoded;
  }
}

type Pending =
  | { kind: 'snapshot'; version: number; epoch: string; instances: readonly Instance[]; first: boolean; last: boolean }
  | { kind: 'change'; change: SharedChange };

export interface WatchStreamOptions {
  filter: WatchFilter;
  /** Most changes that may wait for a slow client. */
  limit: number;
  encode: EventEncoder;
  metrics: HubMetrics;
  clock: Clock;
  onEnd: (stream: WatchStream) => void;
}

/** The server side of a Watch call whose messages are pre-encoded buffers. */
export type WatchCall = grpc.ServerWritableStream<WatchRequest, Buffer>;

export class WatchStream {
  private readonly pending: (Pending | undefined)[] = [];
  private head = 0;
  private queuedChanges = 0;
  private blocked = false;
  private ended = false;

  constructor(
    private readonly call: WatchCall,
    private readonly options: WatchStreamOptions,
  ) {
    options.metrics.subscribers.inc({ api: 'watch' });
    call.on('drain', this.onDrain);
    call.on('cancelled', () => this.finish('CANCELLED'));
    // Whatever else ends the call (a transport error, the server shutting down) also ends us.
    call.on('close', () => this.finish('CANCELLED'));
  }

  get filter(): WatchFilter {
    return this.options.filter;
  }

  sendSnapshot(instances: readonly Instance[], version: number, epoch: string): void {
    const chunks = Math.max(1, Math.ceil(instances.length / SNAPSHOT_CHUNK));
    for (let i = 0; i < chunks; i++) {
      this.pending.push({
        kind: 'snapshot',
        version,
        epoch,
        instances: instances.slice(i * SNAPSHOT_CHUNK, (i + 1) * SNAPSHOT_CHUNK),
        first: i === 0,
        last: i === chunks - 1,
      });
    }
    this.pump();
  }

  /** Queues a change if it matches this watcher's filter. */
  offer(change: SharedChange): void {
    if (this.ended || !matchesFilter(this.options.filter, change.change.instance)) return;
    this.pending.push({ kind: 'change', change });
    this.queuedChanges++;
    if (this.queuedChanges > this.options.limit) {
      this.end(
        new OutriggerError(
          'resource_exhausted',
          `watcher fell more than ${this.options.limit} changes behind; watch again to get a fresh snapshot`,
        ),
      );
      return;
    }
    if (!this.blocked) this.pump();
  }

  /** Ends the stream: with OK when no error is given. Idempotent. */
  end(error?: OutriggerError): void {
    if (this.ended) return;
    this.finish(endStatusName(error));
    endServerStream(this.call, error);
  }

  private readonly onDrain = (): void => {
    this.blocked = false;
    this.pump();
  };

  /** Writes until the transport pushes back; 'drain' resumes. */
  private pump(): void {
    const { metrics, clock } = this.options;
    while (!this.ended && !this.blocked && this.head < this.pending.length) {
      const item = this.pending[this.head]!;
      this.pending[this.head++] = undefined;
      let bytes: Buffer;
      if (item.kind === 'snapshot') {
        bytes = this.options.encode({
          version: item.version,
          snapshot: { instances: item.instances.map(instanceToWire), first: item.first, last: item.last, epoch: item.epoch },
        });
        metrics.pushes.inc({ api: 'watch', type: 'snapshot' });
      } else {
        this.queuedChanges--;
        bytes = item.change.bytes;
        metrics.pushes.inc({ api: 'watch', type: item.change.change.op });
        metrics.pushLatency.observe({ api: 'watch' }, Math.max(0, clock.monotonic() - item.change.observedAt) / 1000);
      }
      this.blocked = !this.call.write(bytes);
    }
    // Drop the consumed prefix now and then, so the array does not grow with the stream's age.
    if (this.head === this.pending.length) {
      this.pending.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }

  private finish(code: string): void {
    if (this.ended) return;
    this.ended = true;
    this.pending.length = 0;
    this.head = 0;
    this.queuedChanges = 0;
    this.call.removeListener('drain', this.onDrain);
    this.options.metrics.subscribers.dec({ api: 'watch' });
    this.options.metrics.requests.inc({ api: 'grpc', route: 'Watch', code });
    this.options.onEnd(this);
  }
}
