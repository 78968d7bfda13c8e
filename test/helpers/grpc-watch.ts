/**
 * A Watch subscriber as an application would write one: applies the snapshot and the changes to
 * a map, and records what it saw so tests can check order and completeness.
 */
import type * as grpc from '@grpc/grpc-js';
import type { WatchEvent, WireInstance } from '../../src/wire/messages.js';
import { WAIT_MS } from './grpc-hub.js';

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
  private readonly waiters = new Set<() => void>();

  constructor(readonly call: grpc.ClientReadableStream<WatchEvent>) {
    call.on('metadata', (md: grpc.Metadata) => {
      this.headers = md;
      this.notify();
    });
    call.on('error', (err: grpc.ServiceError) => {
      this.error = err;
      this.ended = true;
      this.notify();
    });
    call.on('end', () => {
      this.ended = true;
      this.notify();
    });
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
  until(condition: (r: this) => boolean, what: string, ms = WAIT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (condition(this)) done(undefined);
        else if (this.ended) done(new Error(`watch ended (${this.error?.details ?? 'OK'}) before ${what}`));
      };
      const timer = setTimeout(() => done(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
      const done = (err: Error | undefined): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves with the stream's error once it ends with one. */
  ends(ms = WAIT_MS): Promise<grpc.ServiceError | undefined> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!this.ended) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(this.error);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`watch did not end within ${ms}ms`));
      }, ms);
      this.waiters.add(check);
      check();
    });
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
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
