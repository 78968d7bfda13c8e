import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Etcd3, EtcdLeaseInvalidError, type Campaign, type IKeyValue, type IOptions, type IWatchResponse, type Lease, type Watcher } from 'etcd3';
import { systemClock, type Clock, type TimerHandle } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { serviceKey } from '../model/names.js';
import { etcdFaultHandling } from './etcd-fault-handling.js';
import type { Instance, Namespace, Service } from './model.js';
import type { AnyRecord, CommittedRecord, RecordChange, RecordKind, RegistrySnapshot, RegistryStore } from './registry-store.js';

export interface EtcdStoreOptions {
  endpoints: readonly string[];
  /** Every key of this registry is under it: `<prefix>/namespaces/<name>`, `<prefix>/services/<ns>/<name>`, `<prefix>/instances/<id>`. */
  prefix: string;
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  auth?: { username: string; password: string };
  logger?: Logger;
  clock?: Clock;
  /** This replica's name in the election and on its liveness keys (default: host, pid and a random suffix). */
  replicaId?: string;
  /**
   * TTL of this replica's one etcd lease, which every liveness key of its Sessions is attached
   * to, and of its election campaign: if the replica dies, the others see its keys go after this.
   */
  leaseTtlSeconds?: number;
  /** How often etcd is asked a linearizable read, which fails while it has no quorum: the snapshot is then marked stale. */
  probeIntervalMs?: number;
  /**
   * Longest a write waits for etcd (the transaction, tried member after member, then the watch
   * bringing it back) before it is refused; also how long the probe tries before it says stale.
   */
  writeTimeoutMs?: number;
  /**
   * Longest one attempt of a call waits for one member before it is tried on the next (a
   * transaction etcd dropped with its dying leader is answered only at etcd's own timeout).
   * Long enough for a loaded etcd: a transaction tried again after it did commit loses its
   * mod_revision compare and runs again on its own record.
   */
  attemptTimeoutMs?: number;
}

const isLeaseGone = (err: unknown): boolean => err instanceof EtcdLeaseInvalidError || /requested lease not found/.test(String(err));

type LivenessOp = ReturnType<Etcd3['put']> | ReturnType<Etcd3['delete']>;

/** A write that loses a race is captured again on the newer records, this many times at most. */
const MAX_ATTEMPTS = 8;

/**
 * Records one transaction writes: each record may bring a liveness key, and etcd refuses a
 * transaction of more than 128 operations (its default `--max-txn-ops`).
 */
const CHANGES_PER_TXN = 64;

/** A record as stored: the registry's record without its revision (etcd's mod_revision is the revision). */
interface StoredValue {
  record: Omit<AnyRecord, 'revision'>;
  /** Lease bookkeeping only: other replicas apply it without broadcasting. */
  quiet?: true;
}

const storeUnavailable = (detail: string): OutriggerError =>
  new OutriggerError('store_unavailable', `the registry's etcd store cannot be reached (${detail}); reads are served from the last snapshot, retry the write later`);

/** The longest one step of closing (cancelling the watch, resigning, revoking the lease) is waited for. */
const CLOSE_STEP_MS = 2000;

/** A watch that lost its member re-attaches to another within this; only longer is the snapshot stale. */
const WATCH_REATTACH_MS = 2000;

/** Loading every record may take longer than one attempt of an ordinary call. */
const RELIST_TIMEOUT_MS = 60_000;

/**
 * The registry over etcd. The snapshot is loaded with one range read and follows one watch from
 * the revision after it; a write is captured on the snapshot and committed as one transaction
 * that compares every touched key's mod_revision with the one the snapshot holds, so two
 * replicas writing the same record cannot both win; the loser runs its write again on the
 * winner's record. The registry's version is etcd's revision.
 */
export class EtcdStore implements RegistryStore {
  readonly kind = 'etcd';
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly writeTimeoutMs: number;
  /** mod_revision of every key in the snapshot. */
  private readonly modRevisions = new Map<string, number>();
  private snapshot: RegistrySnapshot | undefined;
  private watcher: Watcher | undefined;
  private applied = 0;
  private waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];
  /** Ends when the last write of several transactions queued so far has had its turn. */
  private partsTurns: Promise<void> = Promise.resolve();
  /** When the watch lost its stream (its member died, or the relist after it failed), until it is attached again. */
  private watchLostAt: number | undefined;
  /** The last probe failed: etcd cannot be reached or has no quorum. */
  private unreachable = false;
  private probeTimer: TimerHandle | undefined;
  private readonly probeIntervalMs: number;
  private closed = false;
  readonly replicaId: string;
  private readonly leaseTtlSeconds: number;
  private lease: Lease | undefined;
  private leaseId: string | undefined;
  private campaign: Campaign | undefined;
  /** What etcd says: the election's current leader is this replica. */
  private elected = false;
  /** Which replica holds each Session lease: the liveness keys under `<prefix>/live/`. */
  private readonly liveOwners = new Map<string, string>();
  /** Instances this replica's Sessions hold (their liveness keys are on this replica's lease). */
  private readonly mine = new Set<string>();
  /** Told when this replica wins or loses the election. */
  private readonly electionWatchers: Array<(elected: boolean) => void> = [];

  constructor(options: EtcdStoreOptions) {
    this.writeTimeoutMs = options.writeTimeoutMs ?? 5000;
    const etcdOptions: IOptions = {
      hosts: [...options.endpoints],
      ...etcdFaultHandling({ attemptTimeoutMs: options.attemptTimeoutMs ?? 2000, budgetMs: this.writeTimeoutMs }),
      ...(options.tls !== undefined
        ? { credentials: { rootCertificate: options.tls.ca, ...(options.tls.cert !== undefined ? { certChain: options.tls.cert } : {}), ...(options.tls.key !== undefined ? { privateKey: options.tls.key } : {}) } }
        : {}),
      ...(options.auth !== undefined ? { auth: { username: options.auth.username, password: options.auth.password } } : {}),
    };
    this.client = new Etcd3(etcdOptions);
    this.prefix = options.prefix.replace(/\/+$/, '');
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.replicaId = options.replicaId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.leaseTtlSeconds = options.leaseTtlSeconds ?? 10;
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
  }

  get leader(): boolean {
    return this.elected && !this.stale;
  }

  get stale(): boolean {
    return this.unreachable || this.watchLost;
  }

  private get watchLost(): boolean {
    return this.watchLostAt !== undefined && this.clock.now() - this.watchLostAt >= WATCH_REATTACH_MS;
  }

  /** The etcd revision the snapshot has reached. */
  get revision(): number {
    return this.applied;
  }

  async start(snapshot: RegistrySnapshot): Promise<void> {
    this.snapshot = snapshot;
    await this.relist();
    await this.grantLease();
    this.campaignForLeader();
    this.probeTimer = this.clock.setInterval(() => void this.probe(), this.probeIntervalMs).unref();
  }

  private probing = false;

  /**
   * A linearizable read needs a quorum: while it fails, reads go on from the snapshot and writes
   * are refused at once. It is tried member after member like any call (a member that died, or an
   * etcd leader election, costs a retry, not staleness), through the same circuits as writes.
   */
  private async probe(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      await this.client.get(`${this.prefix}/probe`).exists();
      if (this.unreachable) this.logger.info('etcd answers again: writes resume');
      this.unreachable = false;
    } catch (err) {
      if (!this.unreachable) this.logger.warn('etcd cannot be reached or has no quorum: serving the last snapshot, refusing writes', { err: String(err) });
      this.unreachable = true;
    } finally {
      this.probing = false;
    }
  }

  /** One lease for the replica; when etcd lost it (it was away longer than the TTL), a new one, and every Session's lease taken again. */
  private async grantLease(): Promise<void> {
    const lease = this.client.lease(this.leaseTtlSeconds, { autoKeepAlive: true });
    this.lease = lease;
    this.leaseId = await lease.grant();
    lease.on('lost', (err) => {
      if (this.closed || this.lease !== lease) return;
      this.logger.warn('the replica lost its etcd lease: taking it and its sessions again', { err: String(err) });
      void this.renewLease(lease);
    });
  }

  private renewing: Promise<void> | undefined;

  /** A new lease in place of `lost`, and every Session lease of this replica held again on it. */
  private renewLease(lost: Lease): Promise<void> {
    if (this.lease !== lost) return this.renewing ?? Promise.resolve();
    this.leaseId = undefined;
    this.lease = undefined;
    this.renewing = this.retry(() => this.grantLease()).then(() => {
      this.renewing = undefined;
      for (const id of [...this.mine]) {
        this.liveOwners.delete(id);
        this.snapshot!.holdAgain(id);
      }
    });
    return this.renewing;
  }

  watchElection(fn: (elected: boolean) => void): void {
    this.electionWatchers.push(fn);
    fn(this.elected);
  }

  private electionChanged(): void {
    for (const fn of this.electionWatchers) fn(this.elected);
  }

  private campaignForLeader(): void {
    const campaign = this.client.election(`${this.prefix}/leader`, this.leaseTtlSeconds).campaign(this.replicaId);
    this.campaign = campaign;
    campaign.on('elected', () => {
      if (this.campaign !== campaign) return;
      this.elected = true;
      this.logger.info('this replica leads: it runs the lease sweep and self-preservation', { replica: this.replicaId });
      this.electionChanged();
      // Leases whose holder went while no replica led: their TTL starts now.
      for (const id of this.snapshot!.heldIds()) if (!this.liveOwners.has(id)) this.snapshot!.releaseHeld(id);
    });
    campaign.on('error', (err) => {
      if (this.closed || this.campaign !== campaign) return;
      // The campaign's lease ran out (or etcd refused it): this replica no longer leads.
      const was = this.elected;
      this.elected = false;
      if (was) this.electionChanged();
      this.logger.warn('leader campaign failed: campaigning again', { err: String(err) });
      this.clock.setTimeout(() => {
        if (!this.closed && this.campaign === campaign) this.campaignForLeader();
      }, 1000).unref();
    });
  }

  /** Runs `fn` until it succeeds or the store closes, a second apart. */
  private async retry(fn: () => Promise<void>): Promise<void> {
    while (!this.closed) {
      try {
        await fn();
        return;
      } catch (err) {
        this.logger.warn('etcd: retrying', { err: String(err) });
        await new Promise<void>((resolve) => this.clock.setTimeout(resolve, 1000).unref());
      }
    }
  }

  async write<T>(write: () => T): Promise<T> {
    const snapshot = this.snapshot;
    if (snapshot === undefined) throw new OutriggerError('unavailable', 'the registry store is not started');
    // Set once this write holds the replica's turn for writes of several transactions.
    let release: (() => void) | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        // A lease lost while etcd was away is being taken again: a write holding a Session's lease waits for it.
        if (this.renewing !== undefined) await this.within(this.renewing, 'the replica\'s etcd lease to be granted again');
        const { result, changes } = snapshot.capture(write);
        const kept = changes.filter((c) => !this.staleRelease(c));
        if (kept.length === 0) return result;
        if (this.closed) throw storeUnavailable('the hub is shutting down');
        if (this.stale) throw storeUnavailable(this.unreachable ? 'etcd does not answer a quorum read' : 'the watch is disconnected');
        if (kept.length > CHANGES_PER_TXN && release === undefined) {
          // Writes of several transactions take turns on a replica: two bulk writes creating the
          // same services part by part would otherwise keep losing parts to each other. Captured
          // again once it is this write's turn.
          release = await this.takePartsTurn();
          attempt--;
          continue;
        }
        // etcd takes at most 128 operations in one transaction: a larger write (a batch
        // registration, a sweep expiring many leases) is committed as several, each comparing its
        // own records. Those writes are per instance, so a part lost to a concurrent write is
        // simply run again with the rest.
        let revision = 0;
        let lost: Map<string, number> | undefined;
        for (let from = 0; from < kept.length && lost === undefined; from += CHANGES_PER_TXN) {
          const { txn, live, expected } = this.transaction(kept.slice(from, from + CHANGES_PER_TXN));
          let response;
          try {
            response = await txn.commit();
          } catch (err) {
            if (isLeaseGone(err) && this.lease !== undefined && attempt < MAX_ATTEMPTS) {
              // The replica's lease ran out (etcd did not hear its keep-alives in time): take a new one, then write again.
              await this.renewLease(this.lease);
              lost = new Map();
              break;
            }
            // Tried member after member for the whole budget: refuse the next writes at once, until the probe hears from etcd again.
            this.unreachable = true;
            throw storeUnavailable(err instanceof Error ? err.message : String(err));
          }
          if (!response.succeeded) {
            lost = expected;
            break;
          }
          revision = Number(response.header.revision);
          for (const id of live.held) this.mine.add(id);
          for (const id of live.dropped) this.mine.delete(id);
        }
        if (lost === undefined) {
          await this.until(() => this.applied >= revision, 'the watch to bring the write back');
          return this.committed(result, changes, revision);
        }
        if (lost.size === 0) continue;
        const raced = lost;
        // Parts committed before the lost one come back first, so the write runs again on them.
        if (revision > 0) await this.until(() => this.applied >= revision, 'the watch to bring the parts already written');
        if (attempt >= MAX_ATTEMPTS) {
          throw new OutriggerError('unavailable', `the write kept losing to concurrent writes of the same records (${MAX_ATTEMPTS} attempts); retry`);
        }
        // Another write (here or on another replica) changed one of these records first: wait until the snapshot has it, then run the write again on it.
        await this.until(() => [...raced].some(([key, rev]) => (this.modRevisions.get(key) ?? 0) !== rev), 'the watch to bring the concurrent write');
      }
    } finally {
      release?.();
    }
  }

  /**
   * One transaction of a write: each record's key compared with the mod_revision the snapshot has
   * of it (`expected`), then put or deleted, with the liveness keys the records bring (`live`).
   */
  private transaction(part: readonly RecordChange[]): { txn: ReturnType<Etcd3['if']>; live: ReturnType<EtcdStore['livenessOps']>; expected: Map<string, number> } {
    const live = this.livenessOps(part);
    const compared = part.map((c) => ({ key: this.keyOf(c), change: c }));
    const expected = new Map(compared.map(({ key }) => [key, this.modRevisions.get(key) ?? 0]));
    const [first, ...rest] = compared;
    let txn = this.client.if(first!.key, 'Mod', '==', expected.get(first!.key)!);
    for (const { key } of rest) txn = txn.and(key, 'Mod', '==', expected.get(key)!);
    txn = txn.then(
      ...compared.map(({ key, change }) => (change.after === undefined ? this.client.delete().key(key) : this.client.put(key).value(JSON.stringify(this.stored(change))))),
      ...live.ops,
    );
    return { txn, live, expected };
  }

  /** Waits for the turn of a write of several transactions; the function returned ends it. */
  private async takePartsTurn(): Promise<() => void> {
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    const before = this.partsTurns;
    this.partsTurns = before.then(() => turn);
    await before;
    return release;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clock.clearInterval(this.probeTimer);
    // Each step is bounded: a member that does not answer must not keep the hub from stopping.
    await this.bounded(this.watcher?.cancel());
    // Resigning and revoking let the other replicas take over at once rather than after the TTL.
    await this.bounded(this.campaign?.resign());
    await this.bounded(this.lease?.revoke());
    this.client.close();
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  /** Waits for a closing step at most CLOSE_STEP_MS; its failure is of no interest any more. */
  private bounded(step: Promise<unknown> | undefined): Promise<void> {
    if (step === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = this.clock.setTimeout(resolve, CLOSE_STEP_MS);
      step.then(
        () => resolve(),
        () => resolve(),
      ).finally(() => this.clock.clearTimeout(timer));
    });
  }

  /** Loads every record (at start, and when the watch's revision was compacted) and watches from the revision after. */
  private async relist(): Promise<void> {
    const response = await this.client.getAll().prefix(`${this.prefix}/`).options({ deadline: Date.now() + RELIST_TIMEOUT_MS }).exec();
    const revision = Number(response.header.revision);
    const records = response.kvs.map((kv) => this.decode(kv, 'put')).filter((r): r is CommittedRecord => r !== undefined);
    this.modRevisions.clear();
    this.liveOwners.clear();
    for (const kv of response.kvs) {
      const key = kv.key.toString();
      if (key.startsWith(`${this.prefix}/live/`)) this.liveOwners.set(key.slice(this.prefix.length + '/live/'.length), kv.value.toString());
      else this.modRevisions.set(key, Number(kv.mod_revision));
    }
    this.snapshot!.replaceAll(records, revision);
    this.reach(revision);
    await this.watch(revision + 1);
  }

  private async watch(from: number): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
    const watcher = await this.client.watch().prefix(`${this.prefix}/`).startRevision(String(from)).create();
    this.watcher = watcher;
    this.watchLostAt = undefined;
    watcher.on('data', (res) => this.onWatch(res));
    // etcd3 re-attaches the watch on another member from the last revision it delivered: a write
    // meanwhile waits for it, and only a watch that stays away marks the snapshot stale.
    watcher.on('disconnected', (err) => {
      if (this.watchLostAt === undefined) this.logger.warn('etcd watch disconnected: attaching it again', { err: String(err) });
      this.watchLostAt ??= this.clock.now();
    });
    watcher.on('connected', () => {
      if (this.watchLostAt !== undefined) this.logger.info('etcd watch connected again');
      this.watchLostAt = undefined;
    });
    watcher.on('error', (err) => {
      if (this.closed) return;
      // A compacted revision (or a cancelled watch): load everything again and carry on.
      this.logger.warn('etcd watch ended: relisting', { err: String(err) });
      this.watchLostAt ??= this.clock.now();
      void this.retry(() => this.relist());
    });
  }

  private onWatch(res: IWatchResponse): void {
    const records: CommittedRecord[] = [];
    const lost: string[] = [];
    for (const event of res.events) {
      const key = event.kv.key.toString();
      if (key.startsWith(`${this.prefix}/live/`)) {
        const id = key.slice(this.prefix.length + '/live/'.length);
        if (event.type === 'Delete') {
          this.liveOwners.delete(id);
          lost.push(id);
        } else {
          this.liveOwners.set(id, event.kv.value.toString());
        }
        continue;
      }
      const record = this.decode(event.kv, event.type === 'Delete' ? 'delete' : 'put');
      if (event.type === 'Delete') this.modRevisions.delete(key);
      else this.modRevisions.set(key, Number(event.kv.mod_revision));
      if (record !== undefined) records.push(record);
    }
    const revision = Number(res.header.revision);
    this.snapshot!.applyCommitted(records, revision);
    this.reach(revision);
    // A liveness key went without its instance being released with it: its replica (or that replica's etcd lease) is gone.
    if (this.leader) {
      for (const id of lost) {
        const inst = this.snapshot!.recordOf('instance', id) as Instance | undefined;
        if (inst?.lease.held === true && !this.liveOwners.has(id)) this.snapshot!.releaseHeld(id);
      }
    }
  }

  /** A release of a lease another replica's Session has taken since: a stale write, dropped. */
  private staleRelease(change: RecordChange): boolean {
    if (change.kind !== 'instance' || change.after === undefined || change.before === undefined) return false;
    const before = change.before as Instance;
    const after = change.after as Instance;
    const owner = this.liveOwners.get(after.id);
    return before.lease.held && !after.lease.held && owner !== undefined && owner !== this.replicaId;
  }

  /** The liveness keys a write puts (a lease taken here) or deletes (released, or the instance gone). */
  private livenessOps(changes: readonly RecordChange[]): { ops: LivenessOp[]; held: string[]; dropped: string[] } {
    const ops: LivenessOp[] = [];
    const held: string[] = [];
    const dropped: string[] = [];
    for (const c of changes) {
      if (c.kind !== 'instance') continue;
      const key = `${this.prefix}/live/${c.id}`;
      const after = c.after as Instance | undefined;
      if (after?.lease.held === true) {
        if (this.liveOwners.get(c.id) === this.replicaId && this.mine.has(c.id)) continue;
        if (this.leaseId === undefined) throw storeUnavailable('this replica has no etcd lease yet');
        ops.push(this.client.put(key).value(this.replicaId).lease(this.leaseId));
        held.push(c.id);
      } else if (this.liveOwners.has(c.id) && (after === undefined || (c.before as Instance | undefined)?.lease.held === true)) {
        ops.push(this.client.delete().key(key));
        dropped.push(c.id);
      }
    }
    return { ops, held, dropped };
  }

  private reach(revision: number): void {
    this.applied = Math.max(this.applied, revision);
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (w.ready()) w.resolve();
      else this.waiters.push(w);
    }
  }

  /** Resolves once `ready` holds after a watch event; refuses the write when the watch does not deliver in time. */
  private until(ready: () => boolean, what: string): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(storeUnavailable(`timed out waiting for ${what}`));
      }, this.writeTimeoutMs).unref();
      const waiter = {
        ready,
        resolve: () => {
          this.clock.clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Waits for `step`, refusing the write when it takes longer than a write may. */
  private within(step: Promise<void>, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => reject(storeUnavailable(`timed out waiting for ${what}`)), this.writeTimeoutMs).unref();
      step.then(resolve, reject).finally(() => this.clock.clearTimeout(timer));
    });
  }

  /** The write's result as committed, with etcd's revision (a later write may already have replaced it in the snapshot). */
  private committed<T>(result: T, changes: readonly RecordChange[], revision: number): T {
    const change = changes.find((c) => c.after !== undefined && (c.after as unknown) === result);
    if (change === undefined) return result;
    return { ...change.after!, revision: change.quiet ? change.before!.revision : revision } as T;
  }

  private stored(change: RecordChange): StoredValue {
    const { revision: _revision, ...record } = change.after!;
    return change.quiet ? { record, quiet: true } : { record };
  }

  private keyOf(change: RecordChange): string {
    const record = (change.after ?? change.before)!;
    if (change.kind === 'namespace') return `${this.prefix}/namespaces/${(record as Namespace).name}`;
    if (change.kind === 'service') return `${this.prefix}/services/${(record as Service).namespace}/${(record as Service).name}`;
    return `${this.prefix}/instances/${(record as Instance).id}`;
  }

  private decode(kv: IKeyValue, type: 'put' | 'delete'): CommittedRecord | undefined {
    const parts = kv.key.toString().slice(this.prefix.length + 1).split('/');
    const revision = Number(kv.mod_revision);
    let kind: RecordKind;
    let id: string;
    if (parts[0] === 'namespaces' && parts.length === 2) [kind, id] = ['namespace', parts[1]!];
    else if (parts[0] === 'services' && parts.length === 3) [kind, id] = ['service', serviceKey(parts[2]!, parts[1]!)];
    else if (parts[0] === 'instances' && parts.length === 2) [kind, id] = ['instance', parts[1]!];
    else return undefined;
    if (type === 'delete') return { kind, id, record: undefined, quiet: false, revision };
    try {
      const value = JSON.parse(kv.value.toString()) as StoredValue;
      return { kind, id, record: { ...value.record, revision } as AnyRecord, quiet: value.quiet === true, revision };
    } catch (err) {
      this.logger.error('an etcd key under the prefix does not hold a registry record: ignored', { key: kv.key.toString(), err: String(err) });
      return undefined;
    }
  }
}
