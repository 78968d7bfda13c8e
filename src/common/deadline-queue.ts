/**
 * Deadlines that share one duration (a cluster's request timeout), served by one Clock timer.
 * With a single duration, arrival order is deadline order, so the queue is a linked list:
 * adding and cancelling are O(1), and the timer is re-armed only when it fires, for whatever
 * is then at the head. A timer per request would cost a Timeout and a clearTimeout on every
 * request, almost all of which never fire.
 */
import type { Clock, TimerHandle } from './clock.js';

export class Deadline {
  /** Monotonic ms at which it expires. */
  readonly at: number;
  prev: Deadline | undefined = undefined;
  next: Deadline | undefined = undefined;
  queued = true;

  constructor(
    private readonly queue: DeadlineQueue,
    at: number,
    readonly onExpire: () => void,
  ) {
    this.at = at;
  }

  /** It will not fire; a no-op once it has fired or been cancelled. */
  cancel(): void {
    if (this.queued) this.queue.remove(this);
  }
}

export class DeadlineQueue {
  private head: Deadline | undefined;
  private tail: Deadline | undefined;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    readonly durationMs: number,
  ) {
    if (!(durationMs > 0)) throw new RangeError(`a deadline queue needs a duration above 0 ms, got ${durationMs}`);
  }

  /** `onExpire` runs once, durationMs from now, unless the deadline is cancelled first. */
  add(onExpire: () => void): Deadline {
    const d = new Deadline(this, this.clock.monotonic() + this.durationMs, onExpire);
    const tail = this.tail;
    if (tail === undefined) {
      this.head = this.tail = d;
      if (this.timer === undefined) this.arm(this.durationMs);
    } else {
      tail.next = d;
      d.prev = tail;
      this.tail = d;
    }
    return d;
  }

  /** Deadlines still queued (for tests and /clusters). */
  get size(): number {
    let n = 0;
    for (let d = this.head; d !== undefined; d = d.next) n++;
    return n;
  }

  /** Stops the timer; queued deadlines never fire. */
  clear(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    while (this.head !== undefined) this.remove(this.head);
  }

  private arm(ms: number): void {
    // Unref'd: a pending request timeout must not keep a stopping process alive.
    this.timer = this.clock.setTimeout(this.fire, Math.max(1, Math.ceil(ms))).unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = this.clock.monotonic();
    let d = this.head;
    while (d !== undefined && d.at <= now) {
      this.remove(d);
      d.onExpire();
      d = this.head;
    }
    // onExpire may have added deadlines and armed the timer already.
    if (d !== undefined && this.timer === undefined) this.arm(d.at - now);
  };

  /** Unlinks a queued deadline; use Deadline.cancel(). */
  remove(d: Deadline): void {
    d.queued = false;
    if (d.prev === undefined) this.head = d.next;
    else d.prev.next = d.next;
    if (d.next === undefined) this.tail = d.prev;
    else d.next.prev = d.prev;
    d.prev = d.next = undefined;
  }
}
