import { randomUUID } from 'node:crypto';
import { systemClock, type Clock, type TimerHandle } from '../common/clock.js';
import { OutriggerError, notFound } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { type Health } from '../model/health.js';
import { healthSchema } from '../model/health.js';
import { serviceKey } from '../model/names.js';
import { namespaceNameSchema, serviceNameSchema } from '../model/names.js';
import { parseWith } from '../model/parse-input.js';
import { DEFAULT_SERVICE_CONFIG, parseServiceConfig, type LbOptionsParser, type ServiceConfig } from '../model/service-config.js';
import { LeaseSchedule } from './lease-schedule.js';
import { evaluateLeases, type SelfPreservationOptions } from './lease-sweep.js';
import { type Instance, type Namespace, type RegistryChange, type Service, type Source } from './model.js';
import { MemoryStore, type AnyRecord, type CommittedRecord, type RecordChange, type RecordKind, type RegistrySnapshot, type RegistryStore } from './registry-store.js';
import { RenewalRate } from './renewal-rate.js';
import { instanceIdSchema, namespaceInputSchema, registerInputSchema, weightSchema } from './validation.js';

export interface RegistryOptions {
  /** Checks each policy's own lb_options in service configs (the balancers' PolicyRegistry). */
  policies: LbOptionsParser;
  clock?: Clock;
  logger?: Logger;
  /** Namespace for registrations that name none. */
  defaultNamespace?: string;
  /** How often leases are checked. */
  sweepIntervalMs?: number;
  selfPreservation?: Partial<SelfPreservationOptions>;
  /** Hard cap on instances held, so a misbehaving client cannot exhaust the hub's memory. */
  maxInstances?: number;
  /** Caps per service and per namespace, so one tenant cannot take the whole of `maxInstances`. */
  maxInstancesPerService?: number;
  maxInstancesPerNamespace?: number;
  /** Where writes go (default: memory, applied to this registry at once). */
  store?: RegistryStore;
  /** Told each time a cap refuses a registration (for the hub's metrics). */
  onLimit?: (limit: 'max_instances' | 'instances_per_service' | 'instances_per_namespace') => void;
}

/** Where a registration is going, handed to a check before anything changes. */
export interface RegistrationTarget {
  readonly id: string | undefined;
  readonly namespace: string;
  readonly service: string;
  readonly source: Source;
}

/**
 * Runs after a registration is validated and before it is applied, with the instance it would
 * replace: the callers' authorization. Throwing refuses the registration and changes nothing.
 */
export type RegistrationCheck = (target: RegistrationTarget, existing: Instance | undefined) => void;

export interface DiscoverQuery {
  namespace?: string;
  service?: string;
  /** Only HEALTHY instances (the default). Ignored when `health` is given. */
  healthyOnly?: boolean;
  health?: readonly Health[];
  version?: string;
  zone?: string;
  /** Every pair must match. */
  metadata?: Readonly<Record<string, string>>;
  /** Only services this says the caller may see; applied before `limit`. */
  visible?: (namespace: string, service: string) => boolean;
  limit?: number;
}

export type RegistryListener = (change: RegistryChange) => void;

/** A record a captured write touched, with what it was before. */
interface JournalEntry {
  kind: RecordKind;
  id: string;
  before: AnyRecord | undefined;
}

interface ServiceEntry {
  service: Service;
  instances: Map<string, Instance>;
}

export const DEFAULT_SELF_PRESERVATION: SelfPreservationOptions = { enabled: true, maxExpiringShare: 0.5, minInstances: 10, renewalThreshold: 0.85, windowMs: 15_000 };

/**
 * The registry: namespaces, services and instances with leases, in memory. Every change gets a
 * new, strictly increasing version and is delivered synchronously, in order, to subscribers.
 * With a shared store (etcd) it is the replica's snapshot: writes go through `write`, and the
 * changes of one etcd transaction arrive together at that transaction's revision.
 */
export class Registry implements RegistrySnapshot {
  readonly clock: Clock;
  readonly store: RegistryStore;
  readonly defaultNamespace: string;
  private readonly policies: LbOptionsParser;
  private readonly logger: Logger;
  private readonly namespaces = new Map<string, Namespace>();
  private readonly services = new Map<string, ServiceEntry>();
  private readonly instances = new Map<string, Instance>();
  /** Leases in the order they fall due, so a sweep touches only those. */
  private readonly leaseSchedule = new LeaseSchedule(this.instances);
  /** Instances with a live lease (a TTL, held or not, not expired), for self-preservation. */
  private leasedCount = 0;
  private readonly listeners = new Set<RegistryListener>();
  private readonly sweepIntervalMs: number;
  private readonly selfPreservation: SelfPreservationOptions;
  private readonly maxInstances: number;
  private readonly maxPerService: number;
  private readonly maxPerNamespace: number;
  private readonly onLimit: NonNullable<RegistryOptions['onLimit']>;
  /** Instances per namespace, for the per-namespace cap. */
  private readonly namespaceCounts = new Map<string, number>();
  private currentVersion = 0;
  private quietChanges = 0;
  private sweepTimer: TimerHandle | undefined;
  private preserving = false;
  private expiries = 0;
  /** Renewals of the leases whose TTL runs, for self-preservation. */
  private readonly renewals: RenewalRate;
  /** True while records from the store (or a capture's undo) are applied. */
  private applying = false;
  /** While a store captures a write: the records it touched, with what they were before. */
  private journal: Map<string, JournalEntry> | undefined;

  constructor(options: RegistryOptions) {
    this.policies = options.policies;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.defaultNamespace = options.defaultNamespace ?? 'default';
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1000;
    this.selfPreservation = { ...DEFAULT_SELF_PRESERVATION, ...options.selfPreservation };
    this.renewals = new RenewalRate(this.selfPreservation.windowMs);
    this.maxInstances = options.maxInstances ?? 250_000;
    this.maxPerService = options.maxInstancesPerService ?? Number.POSITIVE_INFINITY;
    this.maxPerNamespace = options.maxInstancesPerNamespace ?? Number.POSITIVE_INFINITY;
    this.onLimit = options.onLimit ?? (() => undefined);
    this.store = options.store ?? new MemoryStore();
  }

  /**
   * Runs a write (calls of this registry's write methods) through the store: with the memory
   * store it applies at once; with etcd it resolves once the committed records are in the
   * snapshot, with the record as committed.
   */
  write<T>(write: () => T): Promise<T> {
    return this.store.write(write);
  }

  /** Loads the snapshot from the store (nothing to do for memory). */
  async load(): Promise<void> {
    await this.store.start(this);
  }

  /** Starts the periodic lease sweep. */
  start(): void {
    if (this.sweepTimer !== undefined) return;
    const shared = this.store.kind !== 'memory';
    const sweep = shared
      ? () => {
          // Only the leader expires leases, and never from a snapshot that may be behind.
          if (!this.store.leader || this.store.stale) return;
          this.store.write(() => this.sweep()).catch((err: unknown) => this.logger.warn('lease sweep not written to the store', { err: String(err) }));
        }
      : () => this.sweep();
    this.sweepTimer = this.clock.setInterval(sweep, this.sweepIntervalMs).unref();
  }

  stop(): void {
    this.clock.clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  get version(): number {
    return this.currentVersion;
  }

  /**
   * Changes as a reader of whole instances sees them: the version, and lease bookkeeping that is
   * not broadcast (a renewal's renewed_at). Answers cached by it are never stale.
   */
  get readRevision(): string {
    return `${this.currentVersion}.${this.quietChanges}`;
  }

  /** True while self-preservation holds back lease expiry. */
  get selfPreservationActive(): boolean {
    return this.preserving;
  }

  /** Leases expired since start. */
  get leaseExpiries(): number {
    return this.expiries;
  }

  subscribe(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- namespaces ----

  createNamespace(input: unknown): Namespace {
    const req = parseWith(namespaceInputSchema, input);
    if (this.namespaces.has(req.name)) {
      throw new OutriggerError('already_exists', `namespace ${req.name} already exists`, 'name');
    }
    return this.putNamespace(req.name, req.description);
  }

  getNamespace(name: string): Namespace | undefined {
    return this.namespaces.get(name);
  }

  listNamespaces(): Namespace[] {
    return [...this.namespaces.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  deleteNamespace(name: string): Namespace {
    const ns = this.namespaces.get(name);
    if (ns === undefined) throw notFound(`namespace ${name} does not exist`, 'namespace');
    const services = this.listServices(name);
    if (services.length > 0) {
      throw new OutriggerError(
        'failed_precondition',
        `namespace ${name} still has ${services.length} service(s) (${services.slice(0, 5).map((s) => s.name).join(', ')}); delete them first`,
        'namespace',
      );
    }
    this.dropNamespace(name);
    this.emit({ kind: 'namespace', op: 'remove', version: this.bump(), namespace: ns });
    return ns;
  }

  // ---- services ----

  /** Creates a service, or replaces its config; the namespace is created if needed. */
  putService(namespace: string, name: string, config?: unknown): Service {
    parseWith(namespaceNameSchema, namespace, 'namespace');
    parseWith(serviceNameSchema, name, 'service');
    const parsed = config === undefined ? undefined : this.parseServiceConfig(config);
    const entry = this.ensureService(namespace, name);
    if (parsed === undefined) return entry.service;
    const service: Service = { ...entry.service, config: parsed, revision: this.bump() };
    this.setService(service);
    this.emit({ kind: 'service', op: 'upsert', version: service.revision, service });
    return service;
  }

  /** Validates a service config with this registry's policies; `prefix` names where it sits. */
  parseServiceConfig(config: unknown, prefix = 'config'): ServiceConfig {
    return parseServiceConfig(config, this.policies, prefix);
  }

  getService(namespace: string, name: string): Service | undefined {
    return this.services.get(serviceKey(name, namespace))?.service;
  }

  listServices(namespace?: string): Service[] {
    const out: Service[] = [];
    for (const e of this.services.values()) {
      if (namespace === undefined || e.service.namespace === namespace) out.push(e.service);
    }
    return out.sort((a, b) => serviceKey(a.name, a.namespace).localeCompare(serviceKey(b.name, b.namespace)));
  }

  /** Instances of one service (any health), or an empty list. */
  instancesOf(namespace: string, name: string): Instance[] {
    const e = this.services.get(serviceKey(name, namespace));
    return e === undefined ? [] : [...e.instances.values()];
  }

  deleteService(namespace: string, name: string): Service {
    const key = serviceKey(name, namespace);
    const entry = this.services.get(key);
    if (entry === undefined) throw notFound(`service ${key} does not exist`, 'service');
    const live = [...entry.instances.values()].filter((i) => i.health !== 'UNHEALTHY' || i.lease.expiredAt === undefined);
    if (live.length > 0) {
      throw new OutriggerError(
        'failed_precondition',
        `service ${key} still has ${live.length} live instance(s); deregister them first`,
        'service',
      );
    }
    for (const inst of entry.instances.values()) this.removeInstance(inst, 'service deleted');
    this.dropService(key);
    this.emit({ kind: 'service', op: 'remove', version: this.bump(), service: entry.service });
    return entry.service;
  }

  // ---- instances ----

  /**
   * Registers an instance, or replaces the one with the same id (a re-registration never
   * duplicates). The service and namespace are created with defaults if they do not exist.
   */
  register(input: unknown, check?: RegistrationCheck): Instance {
    const req = parseWith(registerInputSchema, input);
    const namespace = req.namespace ?? this.defaultNamespace;
    const existing = req.id === undefined ? undefined : this.instances.get(req.id);
    check?.({ id: req.id, namespace, service: req.service, source: req.source }, existing);
    const id = req.id ?? randomUUID();
    // A static instance belongs to the hub's config: a registration must not quietly make it another source's.
    if (existing?.source === 'static' && req.source !== 'static') {
      throw new OutriggerError(
        'failed_precondition',
        `id: instance ${id} is a static instance from the hub's config; a registration with source "${req.source}" cannot replace it (use another id)`,
        'id',
      );
    }
    if (existing === undefined && this.instances.size >= this.maxInstances) {
      this.onLimit('max_instances');
      throw new OutriggerError('resource_exhausted', `the hub holds its maximum of ${this.maxInstances} instances (max_instances)`);
    }
    this.checkCaps(namespace, req.service, existing);
    const entry = this.ensureService(namespace, req.service);
    const defaults = entry.service.config.health_check;
    const now = this.clock.now();
    const ttlMs = req.source === 'self' ? (req.ttl ?? defaults.ttl_ms) : (req.ttl ?? 0);
    const instance: Instance = {
      id,
      namespace,
      service: req.service,
      address: req.address,
      port: req.port,
      protocol: req.protocol,
      version: req.version,
      zone: req.zone,
      region: req.region,
      weight: req.weight,
      metadata: req.metadata,
      health: req.health,
      reportedHealth: req.health,
      source: req.source,
      lease: {
        ttlMs,
        deregisterCriticalAfterMs: req.deregister_critical_after ?? defaults.deregister_critical_after_ms,
        renewedAt: now,
        held: existing?.lease.held ?? false,
      },
      registeredAt: existing?.registeredAt ?? now,
      updatedAt: now,
      revision: this.bump(),
    };
    // Moving an instance to another service removes it from the old one first.
    if (existing !== undefined && (existing.service !== instance.service || existing.namespace !== instance.namespace)) {
      this.removeInstance(existing, 'moved to another service');
    }
    this.setInstance(instance);
    this.trackRenewal(instance, existing);
    this.emit({ kind: 'instance', op: 'upsert', version: instance.revision, instance });
    return instance;
  }

  getInstance(id: string): Instance | undefined {
    return this.instances.get(id);
  }

  get instanceCount(): number {
    return this.instances.size;
  }

  deregister(id: string): Instance {
    const inst = this.requireInstance(id);
    this.removeInstance(inst, 'deregistered');
    return inst;
  }

  /** Renews the lease; optionally reports health in the same call. */
  heartbeat(id: string, health?: unknown): Instance {
    const inst = this.requireInstance(id);
    const reported = health === undefined ? inst.reportedHealth : parseWith(healthSchema, health, 'health');
    const next = this.update(inst, {
      reportedHealth: reported,
      health: reported,
      lease: { ...inst.lease, renewedAt: this.clock.now(), expiredAt: undefined },
    }, inst.health === reported && inst.lease.expiredAt === undefined);
    this.trackRenewal(next, inst);
    return next;
  }

  reportHealth(id: string, health: unknown): Instance {
    const inst = this.requireInstance(id);
    const reported = parseWith(healthSchema, health, 'health');
    const expired = inst.lease.expiredAt !== undefined;
    return this.update(inst, { reportedHealth: reported, health: expired ? 'UNHEALTHY' : reported }, inst.reportedHealth === reported);
  }

  /** Sets an instance's weight (an operator's change: it lasts until the owner registers again). */
  setWeight(id: string, weight: unknown): Instance {
    const inst = this.requireInstance(id);
    const next = parseWith(weightSchema, weight, 'weight');
    return this.update(inst, { weight: next }, inst.weight === next);
  }

  /** A Session stream took the lease: it cannot expire while the stream lives. */
  holdLease(id: string): Instance {
    const inst = this.requireInstance(id);
    const now = this.clock.now();
    this.renewals.forget(id);
    return this.update(inst, {
      health: inst.reportedHealth,
      lease: { ...inst.lease, held: true, renewedAt: now, expiredAt: undefined },
    }, inst.lease.expiredAt === undefined);
  }

  /** The Session stream dropped: the TTL starts now. */
  releaseLease(id: string): Instance | undefined {
    const inst = this.instances.get(id);
    if (inst === undefined) return undefined;
    const next = this.update(inst, { lease: { ...inst.lease, held: false, renewedAt: this.clock.now() } }, true);
    if (next.lease.ttlMs > 0 && next.lease.expiredAt === undefined) this.renewals.start(id, next.lease.ttlMs, next.lease.renewedAt);
    return next;
  }

  discover(query: DiscoverQuery): Instance[] {
    const states = query.health ?? (query.healthyOnly === false ? undefined : ['HEALTHY']);
    const entries: ServiceEntry[] = [];
    if (query.service !== undefined && query.namespace !== undefined) {
      const e = this.services.get(serviceKey(query.service, query.namespace));
      if (e !== undefined) entries.push(e);
    } else {
      for (const e of this.services.values()) {
        if (query.service !== undefined && e.service.name !== query.service) continue;
        if (query.namespace !== undefined && e.service.namespace !== query.namespace) continue;
        entries.push(e);
      }
    }
    const out: Instance[] = [];
    const meta = query.metadata === undefined ? [] : Object.entries(query.metadata);
    const visible = query.visible;
    for (const e of entries) {
      if (visible !== undefined && !visible(e.service.namespace, e.service.name)) continue;
      for (const inst of e.instances.values()) {
        if (states !== undefined && !states.includes(inst.health)) continue;
        if (query.version !== undefined && inst.version !== query.version) continue;
        if (query.zone !== undefined && inst.zone !== query.zone) continue;
        if (meta.some(([k, v]) => inst.metadata[k] !== v)) continue;
        out.push(inst);
      }
    }
    out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return query.limit !== undefined ? out.slice(0, query.limit) : out;
  }

  /**
   * Checks every lease: expired ones go UNHEALTHY, long-expired ones are removed. When the
   * renewals seen in the window fall below the threshold of those expected, or more than the
   * configured share would expire at once, the hub is more likely cut off than the instances
   * dead, so expiry pauses (Eureka's self-preservation).
   */
  sweep(): void {
    const now = this.clock.now();
    const renewals = this.renewals.measure(now);
    const due = this.leaseSchedule.due(now, (inst) => this.instances.get(inst.id) === inst);
    const verdict = evaluateLeases(due, this.leasedCount, now, this.selfPreservation, renewals);
    if (verdict.preserve !== this.preserving) {
      this.preserving = verdict.preserve;
      if (verdict.preserve) {
        this.logger.warn('self-preservation on: lease expiry paused', {
          reason: verdict.reason,
          renewals_seen: renewals.seen,
          renewals_expected: Math.round(renewals.expected),
          renewal_threshold: this.selfPreservation.renewalThreshold,
          expiring: verdict.expire.length,
          leased: verdict.leased,
          max_expiring_share: this.selfPreservation.maxExpiringShare,
        });
      } else {
        this.logger.info('self-preservation off: lease expiry resumed');
      }
    }
    if (!verdict.preserve) {
      for (const inst of verdict.expire) {
        this.expiries++;
        this.logger.info('lease expired', { id: inst.id, service: serviceKey(inst.service, inst.namespace) });
        this.renewals.forget(inst.id);
        this.update(inst, { health: 'UNHEALTHY', lease: { ...inst.lease, expiredAt: now } }, false);
      }
      for (const inst of verdict.remove) {
        this.logger.info('instance removed after its lease stayed expired', { id: inst.id });
        this.removeInstance(inst, 'lease expired');
      }
    }
    // What the sweep left as it was stays scheduled (a changed instance was scheduled anew when stored).
    for (const inst of due) if (this.instances.get(inst.id) === inst) this.leaseSchedule.add(inst);
  }

  /** Every instance, for snapshots. */
  allInstances(): IterableIterator<Instance> {
    return this.instances.values();
  }

  // ---- the snapshot a store drives ----

  capture<T>(write: () => T): { result: T; changes: RecordChange[] } {
    if (this.journal !== undefined) throw new OutriggerError('internal', 'a registry write ran inside another');
    const journal = new Map<string, JournalEntry>();
    const version = this.currentVersion;
    this.journal = journal;
    let result: T;
    let changes: RecordChange[] = [];
    try {
      result = write();
      changes = [...journal.values()].map(({ kind, id, before }) => {
        const after = this.recordOf(kind, id);
        return { kind, id, before, after, quiet: before !== undefined && after !== undefined && before.revision === after.revision };
      });
    } finally {
      this.journal = undefined;
      // Taken back in reverse, so a service comes back before its instances.
      this.applying = true;
      try {
        for (const { kind, id, before } of [...journal.values()].reverse()) this.putRecord(kind, id, before);
      } finally {
        this.applying = false;
      }
      this.currentVersion = version;
    }
    return { result, changes };
  }

  applyCommitted(records: readonly CommittedRecord[], revision: number): void {
    this.applying = true;
    try {
      this.applyRecords(records);
    } finally {
      this.applying = false;
    }
    this.currentVersion = Math.max(this.currentVersion, revision);
  }

  private applyRecords(records: readonly CommittedRecord[]): void {
    for (const c of records) {
      const current = this.recordOf(c.kind, c.id);
      if (c.record === undefined) {
        if (current === undefined) continue;
        this.putRecord(c.kind, c.id, undefined);
        this.emitRecord(c.kind, 'remove', current, c.revision);
        continue;
      }
      const quiet = c.quiet && current !== undefined;
      const record = { ...c.record, revision: quiet ? current.revision : c.revision } as AnyRecord;
      this.putRecord(c.kind, c.id, record);
      if (!quiet) this.emitRecord(c.kind, 'upsert', record, c.revision);
    }
  }

  replaceAll(records: readonly CommittedRecord[], revision: number): void {
    const keep = new Set(records.map((r) => `${r.kind}:${r.id}`));
    const gone: CommittedRecord[] = [];
    for (const id of this.instances.keys()) if (!keep.has(`instance:${id}`)) gone.push({ kind: 'instance', id, record: undefined, quiet: false, revision });
    for (const id of this.services.keys()) if (!keep.has(`service:${id}`)) gone.push({ kind: 'service', id, record: undefined, quiet: false, revision });
    for (const id of this.namespaces.keys()) if (!keep.has(`namespace:${id}`)) gone.push({ kind: 'namespace', id, record: undefined, quiet: false, revision });
    const order: Record<string, number> = { namespace: 0, service: 1, instance: 2 };
    const changed = records
      .filter((r) => this.recordOf(r.kind, r.id)?.revision !== r.revision)
      .sort((a, b) => order[a.kind]! - order[b.kind]!);
    this.applyCommitted([...gone, ...changed], revision);
    this.currentVersion = revision;
  }

  heldIds(): string[] {
    const out: string[] = [];
    for (const inst of this.instances.values()) if (inst.lease.held) out.push(inst.id);
    return out;
  }

  releaseHeld(id: string): void {
    this.write(() => this.releaseLease(id)).catch((err: unknown) => this.logger.warn('releasing the lease of a gone replica failed', { id, err: String(err) }));
  }

  holdAgain(id: string): void {
    if (this.instances.get(id) === undefined) return;
    this.write(() => this.holdLease(id)).catch((err: unknown) => this.logger.warn('holding a session lease again failed', { id, err: String(err) }));
  }

  recordOf(kind: RecordKind, id: string): AnyRecord | undefined {
    if (kind === 'namespace') return this.namespaces.get(id);
    if (kind === 'service') return this.services.get(id)?.service;
    return this.instances.get(id);
  }

  private emitRecord(kind: RecordKind, op: 'upsert' | 'remove', record: AnyRecord, version: number): void {
    if (kind === 'namespace') this.emit({ kind, op, version, namespace: record as Namespace });
    else if (kind === 'service') this.emit({ kind, op, version, service: record as Service });
    else this.emit({ kind, op, version, instance: record as Instance, ...(op === 'remove' ? { reason: 'removed' } : {}) });
  }

  /** Sets or deletes one record: every change to the maps goes through here and the three below. */
  private putRecord(kind: RecordKind, id: string, record: AnyRecord | undefined): void {
    if (kind === 'namespace') {
      if (record === undefined) this.dropNamespace(id);
      else this.setNamespace(record as Namespace);
    } else if (kind === 'service') {
      if (record === undefined) this.dropService(id);
      else this.setService(record as Service);
    } else if (record === undefined) {
      const inst = this.instances.get(id);
      if (inst !== undefined) this.dropInstance(inst);
    } else {
      this.setInstance(record as Instance);
    }
  }

  private note(kind: RecordKind, id: string): void {
    if (this.journal === undefined) {
      // With a shared store, a write that bypassed `write()` would change this replica alone.
      if (!this.applying && this.store.kind !== 'memory') {
        throw new OutriggerError('internal', `a registry write bypassed the ${this.store.kind} store (${kind} ${id})`);
      }
      return;
    }
    if (!this.journal.has(`${kind}:${id}`)) this.journal.set(`${kind}:${id}`, { kind, id, before: this.recordOf(kind, id) });
  }

  private setNamespace(ns: Namespace): void {
    this.note('namespace', ns.name);
    this.namespaces.set(ns.name, ns);
  }

  private dropNamespace(name: string): void {
    this.note('namespace', name);
    this.namespaces.delete(name);
  }

  private setService(service: Service): void {
    const key = serviceKey(service.name, service.namespace);
    this.note('service', key);
    const entry = this.services.get(key);
    if (entry !== undefined) entry.service = service;
    else this.services.set(key, { service, instances: new Map() });
  }

  private dropService(key: string): void {
    this.note('service', key);
    this.services.delete(key);
  }

  /** Puts an instance in its service, out of the one it was in if it moved. */
  private setInstance(inst: Instance): void {
    this.note('instance', inst.id);
    let before = this.instances.get(inst.id);
    if (before !== undefined && (before.namespace !== inst.namespace || before.service !== inst.service)) {
      this.dropInstance(before);
      before = undefined;
    }
    if (before === undefined) this.countIn(inst.namespace, 1);
    this.instances.set(inst.id, inst);
    this.leasedCount += liveLease(inst) - (before !== undefined ? liveLease(before) : 0);
    this.leaseSchedule.add(inst);
    const key = serviceKey(inst.service, inst.namespace);
    let entry = this.services.get(key);
    if (entry === undefined) {
      // Only when a store hands an instance before its service; the service record follows.
      entry = { service: { namespace: inst.namespace, name: inst.service, config: DEFAULT_SERVICE_CONFIG, createdAt: inst.registeredAt, revision: inst.revision }, instances: new Map() };
      this.services.set(key, entry);
    }
    entry.instances.set(inst.id, inst);
  }

  private dropInstance(inst: Instance): void {
    this.note('instance', inst.id);
    const stored = this.instances.get(inst.id);
    if (stored === undefined) return;
    this.instances.delete(inst.id);
    this.leasedCount -= liveLease(stored);
    this.countIn(inst.namespace, -1);
    this.services.get(serviceKey(inst.service, inst.namespace))?.instances.delete(inst.id);
  }

  // ---- internals ----

  /** The per-service and per-namespace caps, for an instance joining a service it is not yet in. */
  private checkCaps(namespace: string, service: string, existing: Instance | undefined): void {
    if (existing !== undefined && existing.namespace === namespace && existing.service === service) return;
    const inService = this.services.get(serviceKey(service, namespace))?.instances.size ?? 0;
    if (inService >= this.maxPerService) {
      this.onLimit('instances_per_service');
      throw new OutriggerError('resource_exhausted', `service ${serviceKey(service, namespace)} holds its maximum of ${this.maxPerService} instances (limits.max_instances_per_service)`);
    }
    const inNamespace = this.namespaceCounts.get(namespace) ?? 0;
    if (inNamespace >= this.maxPerNamespace && existing?.namespace !== namespace) {
      this.onLimit('instances_per_namespace');
      throw new OutriggerError('resource_exhausted', `namespace ${namespace} holds its maximum of ${this.maxPerNamespace} instances (limits.max_instances_per_namespace)`);
    }
  }

  /** A registration or heartbeat: a lease whose TTL runs was renewed (or started running again). */
  private trackRenewal(next: Instance, previous: Instance | undefined): void {
    const lease = next.lease;
    if (lease.ttlMs === 0 || lease.held) return this.renewals.forget(next.id);
    const running = previous !== undefined && !previous.lease.held && previous.lease.ttlMs > 0 && previous.lease.expiredAt === undefined;
    if (running) this.renewals.renewed(next.id, lease.ttlMs, lease.renewedAt);
    else this.renewals.start(next.id, lease.ttlMs, lease.renewedAt);
  }

  private countIn(namespace: string, delta: number): void {
    const n = (this.namespaceCounts.get(namespace) ?? 0) + delta;
    if (n === 0) this.namespaceCounts.delete(namespace);
    else this.namespaceCounts.set(namespace, n);
  }

  private requireInstance(id: string): Instance {
    parseWith(instanceIdSchema, id, 'id');
    const inst = this.instances.get(id);
    if (inst === undefined) throw notFound(`instance ${id} is not registered`, 'id');
    return inst;
  }

  /** Replaces an instance; `quiet` changes (lease bookkeeping only) are not broadcast. */
  private update(inst: Instance, patch: Partial<Instance>, quiet: boolean): Instance {
    const next: Instance = {
      ...inst,
      ...patch,
      updatedAt: this.clock.now(),
      revision: quiet ? inst.revision : this.bump(),
    };
    if (quiet) this.quietChanges++;
    this.setInstance(next);
    if (!quiet) this.emit({ kind: 'instance', op: 'upsert', version: next.revision, instance: next });
    return next;
  }

  private removeInstance(inst: Instance, reason: string): void {
    this.renewals.forget(inst.id);
    this.dropInstance(inst);
    this.emit({ kind: 'instance', op: 'remove', version: this.bump(), instance: inst, reason });
  }

  private ensureService(namespace: string, name: string): ServiceEntry {
    const key = serviceKey(name, namespace);
    let entry = this.services.get(key);
    if (entry !== undefined) return entry;
    if (!this.namespaces.has(namespace)) this.putNamespace(namespace, '');
    const service: Service = { namespace, name, config: DEFAULT_SERVICE_CONFIG, createdAt: this.clock.now(), revision: this.bump() };
    this.setService(service);
    this.emit({ kind: 'service', op: 'upsert', version: service.revision, service });
    return this.services.get(key)!;
  }

  private putNamespace(name: string, description: string): Namespace {
    const ns: Namespace = { name, description, createdAt: this.clock.now(), revision: this.bump() };
    this.setNamespace(ns);
    this.emit({ kind: 'namespace', op: 'upsert', version: ns.revision, namespace: ns });
    return ns;
  }

  private bump(): number {
    return ++this.currentVersion;
  }

  private emit(change: RegistryChange): void {
    // A captured write is taken back at once; the store broadcasts it once committed.
    if (this.journal !== undefined) return;
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        this.logger.error('registry listener failed', { err: String(err) });
      }
    }
  }
}

/** 1 when the instance has a live lease (a TTL, held or running, not expired), else 0. */
function liveLease(inst: Instance): number {
  return inst.lease.ttlMs > 0 && inst.lease.expiredAt === undefined ? 1 : 0;
}
