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
import { evaluateLeases, type SelfPreservationOptions } from './lease-sweep.js';
import { type Instance, type Namespace, type RegistryChange, type Service, type Source } from './model.js';
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

interface ServiceEntry {
  service: Service;
  instances: Map<string, Instance>;
}

export const DEFAULT_SELF_PRESERVATION: SelfPreservationOptions = { enabled: true, maxExpiringShare: 0.5, minInstances: 10 };

/**
 * The registry: namespaces, services and instances with leases, in memory. Every change gets a
 * new, strictly increasing version and is delivered synchronously, in order, to subscribers.
 */
export class Registry {
  readonly clock: Clock;
  readonly defaultNamespace: string;
  private readonly policies: LbOptionsParser;
  private readonly logger: Logger;
  private readonly namespaces = new Map<string, Namespace>();
  private readonly services = new Map<string, ServiceEntry>();
  private readonly instances = new Map<string, Instance>();
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
  private sweepTimer: TimerHandle | undefined;
  private preserving = false;
  private expiries = 0;

  constructor(options: RegistryOptions) {
    this.policies = options.policies;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.defaultNamespace = options.defaultNamespace ?? 'default';
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1000;
    this.selfPreservation = { ...DEFAULT_SELF_PRESERVATION, ...options.selfPreservation };
    this.maxInstances = options.maxInstances ?? 250_000;
    this.maxPerService = options.maxInstancesPerService ?? Number.POSITIVE_INFINITY;
    this.maxPerNamespace = options.maxInstancesPerNamespace ?? Number.POSITIVE_INFINITY;
    this.onLimit = options.onLimit ?? (() => undefined);
  }

  /** Starts the periodic lease sweep. */
  start(): void {
    if (this.sweepTimer !== undefined) return;
    this.sweepTimer = this.clock.setInterval(() => this.sweep(), this.sweepIntervalMs).unref();
  }

  stop(): void {
    this.clock.clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  get version(): number {
    return this.currentVersion;
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
    this.namespaces.delete(name);
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
    entry.service = service;
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
    this.services.delete(key);
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
    if (existing === undefined || existing.namespace !== namespace || existing.service !== req.service) this.countIn(namespace, 1);
    entry.instances.set(id, instance);
    this.instances.set(id, instance);
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
    return this.update(inst, {
      reportedHealth: reported,
      health: reported,
      lease: { ...inst.lease, renewedAt: this.clock.now(), expiredAt: undefined },
    }, inst.health === reported && inst.lease.expiredAt === undefined);
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
    return this.update(inst, {
      health: inst.reportedHealth,
      lease: { ...inst.lease, held: true, renewedAt: now, expiredAt: undefined },
    }, inst.lease.expiredAt === undefined);
  }

  /** The Session stream dropped: the TTL starts now. */
  releaseLease(id: string): Instance | undefined {
    const inst = this.instances.get(id);
    if (inst === undefined) return undefined;
    return this.update(inst, { lease: { ...inst.lease, held: false, renewedAt: this.clock.now() } }, true);
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
   * Checks every lease: expired ones go UNHEALTHY, long-expired ones are removed. When more than
   * the configured share would expire at once, the hub is more likely cut off than the
   * instances dead, so expiry pauses (Eureka's self-preservation).
   */
  sweep(): void {
    const now = this.clock.now();
    const verdict = evaluateLeases(this.instances.values(), now, this.selfPreservation);
    if (verdict.preserve !== this.preserving) {
      this.preserving = verdict.preserve;
      if (verdict.preserve) {
        this.logger.warn('self-preservation on: lease expiry paused', {
          expiring: verdict.expire.length,
          leased: verdict.leased,
          max_expiring_share: this.selfPreservation.maxExpiringShare,
        });
      } else {
        this.logger.info('self-preservation off: lease expiry resumed');
      }
    }
    if (verdict.preserve) return;
    for (const inst of verdict.expire) {
      this.expiries++;
      this.logger.info('lease expired', { id: inst.id, service: serviceKey(inst.service, inst.namespace) });
      this.update(inst, { health: 'UNHEALTHY', lease: { ...inst.lease, expiredAt: now } }, false);
    }
    for (const inst of verdict.remove) {
      this.logger.info('instance removed after its lease stayed expired', { id: inst.id });
      this.removeInstance(inst, 'lease expired');
    }
  }

  /** Every instance, for snapshots. */
  allInstances(): IterableIterator<Instance> {
    return this.instances.values();
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
    this.instances.set(next.id, next);
    this.services.get(serviceKey(next.service, next.namespace))!.instances.set(next.id, next);
    if (!quiet) this.emit({ kind: 'instance', op: 'upsert', version: next.revision, instance: next });
    return next;
  }

  private removeInstance(inst: Instance, reason: string): void {
    this.countIn(inst.namespace, -1);
    this.instances.delete(inst.id);
    this.services.get(serviceKey(inst.service, inst.namespace))?.instances.delete(inst.id);
    this.emit({ kind: 'instance', op: 'remove', version: this.bump(), instance: inst, reason });
  }

  private ensureService(namespace: string, name: string): ServiceEntry {
    const key = serviceKey(name, namespace);
    let entry = this.services.get(key);
    if (entry !== undefined) return entry;
    if (!this.namespaces.has(namespace)) this.putNamespace(namespace, '');
    const service: Service = { namespace, name, config: DEFAULT_SERVICE_CONFIG, createdAt: this.clock.now(), revision: this.bump() };
    entry = { service, instances: new Map() };
    this.services.set(key, entry);
    this.emit({ kind: 'service', op: 'upsert', version: service.revision, service });
    return entry;
  }

  private putNamespace(name: string, description: string): Namespace {
    const ns: Namespace = { name, description, createdAt: this.clock.now(), revision: this.bump() };
    this.namespaces.set(name, ns);
    this.emit({ kind: 'namespace', op: 'upsert', version: ns.revision, namespace: ns });
    return ns;
  }

  private bump(): number {
    return ++this.currentVersion;
  }

  private emit(change: RegistryChange): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        this.logger.error('registry listener failed', { err: String(err) });
      }
    }
  }
}
