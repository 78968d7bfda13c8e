/**
 * A Watch subscriber as an application would write one: applies the snapshot and the changes to
 * a map, and records what it saw so tests can check order and completeness.
 */
import type * as grpc from '@grpc/grpc-js';
import type { WatchEvent, WireInstance } from '../../src/wire/messages.js';
import { WAIT_MS } from './grpc-hub.js';
import { Changes } from './wait.js';

export class WatchRecorder {
  readonly state = new Map<string, WireInstance>();
  /** Versions of the changes received, in arrival order. */
  readonly changeVersions: number[] = [];
  snapshotVersion: number | undefined;
  snapshotComplete = false;
  epoch: string | undefined;
  headers: grpc.Metadata | undefined;
  events = 0;
  error: grpc.ServiceError | undefined;
  ended = false;
  private readonly changes = new Changes();

  constructor(readonly call: grpc.ClientReadableStream<WatchEvent>) {
    call.on('metadata', (md: grpc.Metadata) => {
      this.headers = md;
      this.changes.changed();
    });
    call.on('error', (err: grpc.ServiceError) => {
      this.error = err;
      this.end();
    });
    call.on('end', () => this.end());
    call.on('data', (event: WatchEvent) => this.apply(event));
  }

  /**
   * Stops reading, as a stuck application would: grpc-js then stops reading the HTTP/2 stream,
   * and flow control pushes back on the hub. (A grpc-js client that never read at all would
   * instead buffer everything in its own memory: it only pauses after the first read.)
   */
  stopReading(): void {
    this.call.pause();
  }

  resumeReading(): void {
    this.call.resume();
  }

  get lastVersion(): number | undefined {
    return this.changeVersions.at(-1) ?? this.snapshotVersion;
  }

  /** Resolves once `condition` holds; rejects if the stream ends first or after `ms`. */
  until(what: string, condition: (r: this) => boolean, ms = WAIT_MS): Promise<void> {
    return this.changes.until(what, () => condition(this), ms);
  }

  /** Resolves with the stream's error once it ends with one. */
  async ends(ms = WAIT_MS): Promise<grpc.ServiceError | undefined> {
    return (await this.changes.eventually('the watch to end', () => (this.ended ? { error: this.error } : undefined), ms)).error;
  }

  private apply(event: WatchEvent): void {
    this.events++;
    if (event.snapshot !== undefined) {
      if (event.snapshot.first === true) this.state.clear();
      for (const inst of event.snapshot.instances ?? []) this.state.set(inst.id!, inst);
      this.snapshotVersion = event.version;
      this.epoch = event.snapshot.epoch;
      if (event.snapshot.last === true) this.snapshotComplete = true;
    } else if (event.change !== undefined) {
      const inst = event.change.instance!;
      if (event.change.op === 'CHANGE_OP_REMOVE') this.state.delete(inst.id!);
      else this.state.set(inst.id!, inst);
      this.changeVersions.push(event.version!);
    }
    this.changes.changed();
  }

  private end(): void {
    this.ended = true;
    this.changes.end(() => `watch ended (${this.error?.details ?? 'OK'})`);
  }
}
