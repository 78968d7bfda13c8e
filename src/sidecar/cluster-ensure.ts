/**
 * Callers of ClusterManager.ensure() waiting for a cluster to become usable, each with its own
 * bound on the Clock: settled by the manager when the cluster arrives, or rejected with the
 * error the manager builds when the bound passes (it knows why the cluster is missing).
 */
import type { Clock, TimerHandle } from '../common/clock.js';
import type { ClusterView } from './cluster-view.js';

interface Waiter {
  resolve(view: ClusterView): void;
  reject(err: Error): void;
  timer: TimerHandle;
}

export class EnsureWaiters {
  private readonly byName = new Map<string, Set<Waiter>>();

  constructor(private readonly clock: Clock) {}

  wait(name: string, timeoutMs: number, onTimeout: () => Error): Promise<ClusterView> {
    return new Promise<ClusterView>((resolve, reject) => {
      let set = this.byName.get(name);
      if (set === undefined) this.byName.set(name, (set = new Set()));
      const waiters = set;
      // Not unref'd: a caller awaiting ensure() expects an answer within the bound.
      const waiter: Waiter = {
        resolve,
        reject,
        timer: this.clock.setTimeout(() => {
          this.remove(name, waiters, waiter);
          reject(onTimeout());
        }, timeoutMs),
      };
      waiters.add(waiter);
    });
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  resolve(name: string, view: ClusterView): void {
    this.settle(name, (w) => w.resolve(view));
  }

  /** Every caller waiting for `name` gets `err` now. */
  reject(name: string, err: Error): void {
    this.settle(name, (w) => w.reject(err));
  }

  rejectAll(err: Error): void {
    for (const name of [...this.byName.keys()]) this.reject(name, err);
  }

  private settle(name: string, fn: (w: Waiter) => void): void {
    const set = this.byName.get(name);
    if (set === undefined) return;
    this.byName.delete(name);
    for (const w of set) {
      this.clock.clearTimeout(w.timer);
      fn(w);
    }
  }

  private remove(name: string, set: Set<Waiter>, waiter: Waiter): void {
    set.delete(waiter);
    if (set.size === 0 && this.byName.get(name) === set) this.byName.delete(name);
  }
}
