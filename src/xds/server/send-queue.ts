/** Something with a response to write; flush() writes at most one. */
export interface Flushable {
  flush(): void;
}

/** Says whether writes may start now (the bytes in flight are under their bound). */
export interface WriteGate {
  readonly open: boolean;
}

const ALWAYS_OPEN: WriteGate = { open: true };

/**
 * Streams waiting to write, served at most `perTurn` per event-loop turn. A stream is held once
 * however often it is queued (a Set), so the queue never outgrows the number of streams; after
 * each batch the loop yields (setImmediate, not a timer: this paces work, it does not measure
 * time) so that in a reconnect storm the hub keeps accepting connections, reading requests and
 * serving its other APIs while thousands of first responses go out. While the gate is shut
 * (too many bytes in flight), nobody is served and streams wait their turn in order; `resume`
 * starts serving again once a drained write makes room.
 */
export class SendQueue<T extends Flushable> {
  private readonly ready = new Set<T>();
  private scheduled: NodeJS.Immediate | undefined;

  constructor(
    private readonly perTurn: number,
    private readonly gate: WriteGate = ALWAYS_OPEN,
  ) {}

  enqueue(item: T): void {
    this.ready.add(item);
    if (this.scheduled === undefined) this.scheduled = setImmediate(() => this.run());
  }

  /** The gate opened again: serve whoever waits. */
  resume(): void {
    if (this.ready.size > 0 && this.scheduled === undefined) this.scheduled = setImmediate(() => this.run());
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
      if (!this.gate.open) return;
      if (served++ >= this.perTurn) break;
      this.ready.delete(item);
      item.flush();
    }
    if (this.ready.size > 0 && this.scheduled === undefined) this.scheduled = setImmediate(() => this.run());
  }
}
