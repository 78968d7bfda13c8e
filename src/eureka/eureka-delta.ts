/**
 * What `GET /apps/delta` answers: the instances of the Eureka namespace that changed lately,
 * each in its latest state with Eureka's `actionType`. Fed by the registry's change stream and
 * bounded twice (a retention time on the hub's Clock, and a most number of changes), so a busy
 * registry cannot grow it. A client that missed more than this fetches the full registry, as
 * Eureka clients do when their delta does not add up.
 */
import type { Clock } from '../common/clock.js';
import type { Instance } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';

export type ActionType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface Change {
  readonly at: number;
  readonly instance: Instance;
  readonly action: ActionType;
}

export class EurekaDelta {
  private changes: Change[] = [];
  private readonly unsubscribe: () => void;

  constructor(
    registry: Registry,
    private readonly namespace: string,
    private readonly clock: Clock,
    private readonly retentionMs: number,
    private readonly maxChanges: number,
  ) {
    this.unsubscribe = registry.subscribe((c) => {
      if (c.kind !== 'instance' || c.instance.namespace !== this.namespace) return;
      const action: ActionType = c.op === 'remove' ? 'DELETED' : c.instance.registeredAt === c.instance.updatedAt ? 'ADDED' : 'MODIFIED';
      this.changes.push({ at: this.clock.now(), instance: c.instance, action });
      if (this.changes.length > this.maxChanges) this.changes = this.changes.slice(this.changes.length - this.maxChanges);
    });
  }

  /** The latest change of each instance within the retention time, oldest first. */
  recent(): Array<{ instance: Instance; action: ActionType }> {
    const since = this.clock.now() - this.retentionMs;
    const first = this.changes.findIndex((c) => c.at >= since);
    this.changes = first < 0 ? [] : this.changes.slice(first);
    const latest = new Map<string, Change>();
    for (const c of this.changes) {
      latest.delete(c.instance.id);
      latest.set(c.instance.id, c);
    }
    return [...latest.values()].map((c) => ({ instance: c.instance, action: c.action }));
  }

  close(): void {
    this.unsubscribe();
    this.changes = [];
  }
}
