import type { Clock, TimerHandle } from './clock.js';

interface ManualTimer extends TimerHandle {
  id: number;
  due: number;
  every: number | undefined;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A Clock whose time moves only when advance() is called. Timers fire in due order,
 * so tests of leases, backoff and ejection run instantly and deterministically.
 */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  monotonic(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    this.cancel(handle);
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.cancel(handle);
  }

  /** Number of timers still waiting to fire. */
  pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by ms, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.due <= target && (next === undefined || t.due < next.due || (t.due === next.due && t.id < next.id))) next = t;
      }
      if (next === undefined) break;
      this.current = next.due;
      if (next.every === undefined) {
        this.timers = this.timers.filter((t) => t !== next);
      } else {
        next.due += next.every;
      }
      next.fn();
    }
    this.current = target;
  }

  private add(fn: () => void, ms: number, every: number | undefined): TimerHandle {
    const timer: ManualTimer = {
      id: this.nextId++,
      due: this.current + Math.max(0, ms),
      every,
      fn,
      cancelled: false,
      unref() {
        return this;
      },
    };
    this.timers.push(timer);
    return timer;
  }

  private cancel(handle: TimerHandle | undefined): void {
    if (handle === undefined) return;
    this.timers = this.timers.filter((t) => t !== handle);
  }
}
