/**
 * The most recent instance changes, so a watcher that reconnects after a short break can be sent
 * what it missed instead of a full snapshot. Bounded: once a change falls off the end, resuming
 * from before it means a snapshot again.
 */
import type { RegistryChange } from '../registry/model.js';

export type InstanceChangeRecord = Extract<RegistryChange, { kind: 'instance' }>;

export class WatchHistory {
  private readonly ring: (InstanceChangeRecord | undefined)[];
  private start = 0;
  private size = 0;
  /** Every instance change with a version above this one is in the ring. */
  private floor: number;
  private latest: number;

  constructor(
    private readonly capacity: number,
    /** Registry version when recording began: nothing before it is known. */
    since: number,
  ) {
    this.ring = new Array<InstanceChangeRecord | undefined>(Math.max(0, capacity));
    this.floor = since;
    this.latest = since;
  }

  /** Notes the registry's version moving, for changes that are not about instances. */
  advance(version: number): void {
    this.latest = version;
  }

  record(change: InstanceChangeRecord): void {
    this.latest = change.version;
    if (this.capacity === 0) {
      this.floor = change.version;
      return;
    }
    if (this.size === this.capacity) {
      this.floor = this.ring[this.start]!.version;
      this.ring[this.start] = undefined;
      this.start = (this.start + 1) % this.capacity;
      this.size--;
    }
    this.ring[(this.start + this.size) % this.capacity] = change;
    this.size++;
  }

  /** Instance changes after `version`, oldest first; undefined when they are not all known. */
  since(version: number): InstanceChangeRecord[] | undefined {
    if (!Number.isInteger(version) || version < this.floor || version > this.latest) return undefined;
    const out: InstanceChangeRecord[] = [];
    for (let i = 0; i < this.size; i++) {
      const c = this.ring[(this.start + i) % this.capacity]!;
      if (c.version > version) out.push(c);
    }
    return out;
  }
}
