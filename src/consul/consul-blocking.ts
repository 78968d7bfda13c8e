/**
 * Consul's blocking queries over the registry's change stream. Each read names what it watches
 * (a service, a namespace's service list, the node list); `indexOf` is the registry version of
 * the last change to it, at least 1 (Consul clients treat 0 as an error). A read whose `index`
 * equals the current one waits until that changes or its wait (plus up to wait/16 of jitter,
 * as Consul adds) runs out; any other index answers at once, so an index that went backwards
 * (a restarted hub) makes the client reset as Consul documents. Waiters are bounded overall and
 * per identity, and every timer runs on the hub's Clock.
 */
import type { Clock, TimerHandle } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import type { RegistryChange } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import { badRequest } from './consul-errors.js';
import { parseGoDuration } from './consul-register.js';

export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

/** What a read watches: a service's instances, a namespace's services, or every node. */
export const serviceTopic = (namespace: string, service: string): string => `service/${namespace}/${service}`;
export const namespaceTopic = (namespace: string): string => `namespace/${namespace}`;
export const NODES_TOPIC = 'nodes';

interface Waiter {
  wake(): void;
}

export interface BlockingLimits {
  maxQueries: number;
  maxPerIdentity: number;
}

/** `index` and `wait` of a read's query string; undefined index: not a blocking read. */
export function parseBlocking(query: URLSearchParams): { index: number | undefined; waitMs: number } {
  const rawIndex = query.get('index');
  let index: number | undefined;
  if (rawIndex !== null && rawIndex !== '') {
    if (!/^\d{1,20}$/.test(rawIndex)) throw badRequest(`Invalid index: must be a non-negative integer, got ${JSON.stringify(rawIndex.slice(0, 40))}`);
    index = Number(rawIndex);
  }
  const rawWait = query.get('wait');
  let waitMs = DEFAULT_WAIT_MS;
  if (rawWait !== null && rawWait !== '') {
    const ms = parseGoDuration(rawWait);
    if (ms === undefined) throw badRequest(`Invalid wait time: must be a duration such as "30s" or "5m" (at most 10m), got ${JSON.stringify(rawWait.slice(0, 40))}`);
    waitMs = Math.min(ms, MAX_WAIT_MS);
  }
  return { index, waitMs };
}

export class BlockingQueries {
  private readonly versions = new Map<string, number>();
  /**
   * The version of the last removed service or namespace: the index of every topic without an
   * entry. A removed topic's entry is dropped (the map stays as large as the registry), and its
   * readers still see a newer index than the one they hold.
   */
  private removedAt = 1;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly perIdentity = new Map<string, number>();
  private open = 0;
  private readonly unsubscribe: () => void;

  constructor(
    registry: Registry,
    private readonly clock: Clock,
    private readonly limits: BlockingLimits,
    private readonly random: () => number = Math.random,
  ) {
    this.unsubscribe = registry.subscribe((change) => this.onChange(change));
  }

  close(): void {
    this.unsubscribe();
    for (const set of this.waiters.values()) for (const w of [...set]) w.wake();
  }

  /** The index a read of `topic` answers with. */
  indexOf(topic: string): number {
    return Math.max(1, this.versions.get(topic) ?? this.removedAt);
  }

  /** How many topics carry an index of their own (for tests: removed ones are dropped). */
  get topics(): number {
    return this.versions.size;
  }

  /** How many reads are waiting now (for tests and metrics). */
  get waiting(): number {
    return this.open;
  }

  /**
   * Waits while `topic`'s index is `index`, at most `waitMs` plus jitter, or until `gone`
   * fires (the client went away). Throws `resource_exhausted` over the limits.
   */
  async wait(topic: string, index: number | undefined, waitMs: number, identityKey: string, gone: (fn: () => void) => void): Promise<void> {
    if (index === undefined || index !== this.indexOf(topic) || waitMs === 0) return;
    const mine = this.perIdentity.get(identityKey) ?? 0;
    if (this.open >= this.limits.maxQueries || mine >= this.limits.maxPerIdentity) {
      throw new OutriggerError('resource_exhausted', `too many blocking queries open (at most ${this.limits.maxQueries} on the hub, ${this.limits.maxPerIdentity} per identity); retry later`);
    }
    this.open++;
    this.perIdentity.set(identityKey, mine + 1);
    await new Promise<void>((resolve) => {
      let timer: TimerHandle | undefined;
      const set = this.waiters.get(topic) ?? new Set<Waiter>();
      this.waiters.set(topic, set);
      const waiter: Waiter = {
        wake: () => {
          if (!set.delete(waiter)) return;
          if (set.size === 0 && this.waiters.get(topic) === set) this.waiters.delete(topic);
          this.clock.clearTimeout(timer);
          resolve();
        },
      };
      set.add(waiter);
      timer = this.clock.setTimeout(() => waiter.wake(), waitMs + Math.floor(this.random() * (waitMs / 16)));
      gone(() => waiter.wake());
    });
    this.open--;
    const left = (this.perIdentity.get(identityKey) ?? 1) - 1;
    if (left === 0) this.perIdentity.delete(identityKey);
    else this.perIdentity.set(identityKey, left);
  }

  private onChange(change: RegistryChange): void {
    const topics = [NODES_TOPIC];
    if (change.kind === 'instance') topics.push(serviceTopic(change.instance.namespace, change.instance.service), namespaceTopic(change.instance.namespace));
    else if (change.kind === 'service') topics.push(serviceTopic(change.service.namespace, change.service.name), namespaceTopic(change.service.namespace));
    else topics.push(namespaceTopic(change.namespace.name));
    const removed = change.op === 'remove' && change.kind !== 'instance' ? topics[1] : undefined;
    if (removed !== undefined) this.removedAt = change.version;
    for (const t of topics) {
      if (t === removed) this.versions.delete(t);
      else this.versions.set(t, change.version);
      const set = this.waiters.get(t);
      if (set !== undefined) for (const w of [...set]) w.wake();
    }
  }
}
