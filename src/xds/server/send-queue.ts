/** Something with a response to write; flush() writes at most one. */
export interface Flushable {
  flush(): void;
}

/**
 * Streams waiting to write, served at most `perTurn` per event-loop turn. A stream is held once
 * however often it is queued (a Set), so the queue never outgrows the number of streams; after
 * each batch the loop yields (setImmediate, not a timer: this paces work, it does not measure
 * time) so that in a reconnect storm the hub keeps accepting connections, reading requests and
 * serving its other APIs while thousands of first responses go out.
 */
export class SendQueue<T extends Flushable> {
  private readonly ready = new Set<T>();
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly perTurn: number) {}

  enqueue(item: T): void {
    this.ready.add(item);
    if (this.scheduled === undefined) this.scheduled = setImmediate(() => this.run());
  }

  remove(item: T): void {
    this.ready.delete(item);
  }

  get size(): number {
    return this.ready.size;
  }

  close(): void {
    this.ready.clear();
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
  }

  private run(): void {
    this.scheduled = undefined;
    let served = 0;
    for (const item of this.ready) {
      if (served++ >= this.perTurn) break;
      this.ready.delete(item);
      item.flush();
    }
    if (this.ready.size > 0 && this.scheduled === undefined) this.scheduled = setImmediate(() => this.run());
  }
}
