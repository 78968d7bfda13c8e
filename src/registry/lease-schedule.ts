import { MinPriorityQueue } from '@datastructures-js/priority-queue';
import type { Instance } from './model.js';

interface Due {
  /** Epoch ms at which the instance's lease next needs looking at. */
  readonly at: number;
  readonly inst: Instance;
}

/**
 * When each lease next needs the sweep: a running lease when its TTL would run out, an expired
 * one when deregister_critical_after would remove it; a held lease, or none, never. Kept in
 * deadline order, so a sweep touches what is due and not every instance. Every version of an
 * instance the registry stores is added; versions it no longer holds are dropped when they come
 * up (`current` tells), so a renewal costs one insertion and nothing is searched.
 */
export class LeaseSchedule {
  private queue = new MinPriorityQueue<Due>((d) => d.at);

  /** `instances`: what the registry holds now, to rebuild from once old versions pile up (a replica that never sweeps). */
  constructor(private readonly instances: ReadonlyMap<string, Instance>) {}

  /** A version of an instance was stored. */
  add(inst: Instance): void {
    const at = dueAt(inst);
    if (at === undefined) return;
    this.queue.enqueue({ at, inst });
    if (this.queue.size() > 2 * this.instances.size + 1024) this.rebuild();
  }

  private rebuild(): void {
    const entries: Due[] = [];
    for (const inst of this.instances.values()) {
      const at = dueAt(inst);
      if (at !== undefined) entries.push({ at, inst });
    }
    this.queue = MinPriorityQueue.fromArray(entries, (d) => d.at);
  }

  /**
   * The instances whose lease may need the sweep at `now`, each once: the versions the
   * registry still holds (`current`) whose time has come. They leave the schedule; `add` puts
   * back whatever the sweep leaves as it was.
   */
  due(now: number, current: (inst: Instance) => boolean): Instance[] {
    const out: Instance[] = [];
    const seen = new Set<Instance>();
    while (!this.queue.isEmpty() && this.queue.front()!.at <= now) {
      const { inst } = this.queue.dequeue()!;
      if (!current(inst) || seen.has(inst)) continue;
      seen.add(inst);
      out.push(inst);
    }
    return out;
  }

  get size(): number {
    return this.queue.size();
  }
}

function dueAt(inst: Instance): number | undefined {
  const lease = inst.lease;
  if (lease.ttlMs === 0) return undefined;
  if (lease.expiredAt !== undefined) return lease.expiredAt + lease.deregisterCriticalAfterMs;
  return lease.held ? undefined : lease.renewedAt + lease.ttlMs;
}
