import type { Clock, TimerHandle } from '../../common/clock.js';

export interface WriteBudgetOptions {
  /** Bytes handed to connections and not yet drained, across every stream, past which no new write starts. */
  maxBytes: number;
  /**
   * A write not drained after this long stops counting: its reader has stalled, and one stalled
   * reader (or a few hundred) must not stop the hub from writing to everyone else.
   */
  stallMs: number;
  clock: Clock;
}

interface Held {
  readonly bytes: number;
  readonly since: number;
}

/**
 * The bytes of responses in flight, across every ADS stream. grpc-js frames each message into
 * a copy of its own, held until the connection drains it, so 10,000 streams each sent a shared
 * 100 KB response would hold 1 GB of copies while slow readers take it in. Writes start only
 * while the bytes in flight are under the bound; each drained write makes room for the next.
 * A stream holds at most one write (the stream's own rule), so a holder is a stream.
 */
export class WriteBudget {
  private used = 0;
  /** In the order the writes started, so the oldest is first. */
  private readonly held = new Map<object, Held>();
  private timer: TimerHandle | undefined;
  private stalledCount = 0;
  private listener: (() => void) | undefined;

  constructor(private readonly options: WriteBudgetOptions) {}

  /** Whether a new write may start. */
  get open(): boolean {
    return this.used < this.options.maxBytes;
  }

  /** Bytes in flight that count against the bound. */
  get bytes(): number {
    return this.used;
  }

  /** Writes that stopped counting because their reader did not drain them in time. */
  get stalled(): number {
    return this.stalledCount;
  }

  /** Called whenever room is made after the budget was spent. */
  onOpen(listener: () => void): void {
    this.listener = listener;
  }

  /** A write of `bytes` started for `holder` (which holds no other). */
  take(holder: object, bytes: number): void {
    this.release(holder);
    this.held.set(holder, { bytes, since: this.options.clock.monotonic() });
    this.used += bytes;
    this.timer ??= this.options.clock.setTimeout(() => this.expire(), this.options.stallMs).unref();
  }

  /** The holder's write drained, or its stream is gone; nothing when it holds none. */
  give(holder: object): void {
    const wasOpen = this.open;
    this.release(holder);
    if (!wasOpen && this.open) this.listener?.();
  }

  close(): void {
    this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.held.clear();
    this.used = 0;
  }

  private release(holder: object): void {
    const h = this.held.get(holder);
    if (h === undefined) return;
    this.held.delete(holder);
    this.used -= h.bytes;
    if (this.held.size === 0) {
      this.options.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Writes older than stallMs stop counting; the timer is set again for the oldest left. */
  private expire(): void {
    this.timer = undefined;
    const wasOpen = this.open;
    const now = this.options.clock.monotonic();
    for (const [holder, h] of this.held) {
      const due = h.since + this.options.stallMs;
      if (due > now) {
        this.timer = this.options.clock.setTimeout(() => this.expire(), due - now).unref();
        break;
      }
      this.held.delete(holder);
      this.used -= h.bytes;
      this.stalledCount++;
    }
    if (!wasOpen && this.open) this.listener?.();
  }
}
