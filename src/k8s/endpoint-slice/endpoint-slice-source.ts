import { CoreV1Api, DiscoveryV1Api, Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../common/clock.js';
import { OutriggerError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import { serviceKey } from '../../model/names.js';
import { type Instance, type RegistryChange } from '../../registry/model.js';
import type { Registry } from '../../registry/registry.js';
import { ListWatchLoop, type ListResult, type ListWatchCounters, type WatchApi } from './list-watch.js';
import { mapSlice, objectKey, type DesiredInstance, type SliceView } from './slice-mapping.js';

/** Counters the source feeds, by resource (`services`, `endpointslices`). */
export interface EndpointSliceSourceMetrics {
  counters(resource: string): ListWatchCounters;
}

export interface EndpointSliceSourceOptions {
  registry: Registry;
  kubeConfig: KubeConfig;
  /** Kubernetes namespaces to watch; empty means all. */
  namespaces: readonly string[];
  /** Registry namespace = `<k8s namespace>.<namespaceSuffix>`. */
  namespaceSuffix: string;
  maxBackoffMs: number;
  clock: Clock;
  logger?: Logger;
  metrics?: EndpointSliceSourceMetrics;
  random?: () => number;
}

interface Scope {
  /** Kubernetes namespace, or undefined for all. */
  k8sNamespace: string | undefined;
}

/**
 * Kubernetes Services and EndpointSlices as a registry source (`source: kubernetes`, no lease).
 *
 * The source keeps its own desired set (what the slices describe) and reconciles the registry
 * against it, one registry service at a time:
 * - it registers what a slice describes and removes what no slice describes any more; it only
 *   ever changes or removes instances whose source is `kubernetes`;
 * - a `self` or `static` instance wins over the slice: when one holds the same id (a sidecar
 *   registers with its pod UID), or the same address and port in the same service, the source's
 *   instance is not created, or is removed when it was there first. Active health checks of a
 *   sidecar beat readiness as seen by the kubelet;
 * - when that instance goes away while its pod is still in a slice, the source's instance
 *   comes back: the source listens to registry changes and reconciles the service again.
 *
 * Services are watched so that every Service has its registry service (an xDS client asking for
 * it gets an empty cluster, not a missing one); a deleted Service leaves its registry service,
 * with its config, in place.
 */
export class EndpointSliceSource {
  private readonly registry: Registry;
  private readonly logger: Logger;
  private readonly suffix: string;
  private readonly loops: ListWatchLoop[] = [];
  private readonly loopNames: string[] = [];
  private readonly slices = new Map<string, SliceView>();
  /** Registry service key → keys of the slices that feed it. */
  private readonly slicesByService = new Map<string, Set<string>>();
  /** Registry services that changed under the source and wait for a reconcile. */
  private readonly dirty = new Set<string>();
  private flushQueued = false;
  /** True while the source itself changes the registry, so it does not react to its own changes. */
  private applying = false;
  private unsubscribe: (() => void) | undefined;
  private running = false;
  /** A retry of the services whose write the store refused (etcd away). */
  private retryTimer: ReturnType<Clock['setTimeout']> | undefined;

  constructor(private readonly options: EndpointSliceSourceOptions) {
    this.registry = options.registry;
    this.logger = options.logger ?? silentLogger;
    this.suffix = options.namespaceSuffix;
    const watch: WatchApi = new Watch(options.kubeConfig);
    const core = options.kubeConfig.makeApiClient(CoreV1Api);
    const discovery = options.kubeConfig.makeApiClient(DiscoveryV1Api);
    const scopes: Scope[] = options.namespaces.length === 0 ? [{ k8sNamespace: undefined }] : options.namespaces.map((n) => ({ k8sNamespace: n }));
    for (const scope of scopes) {
      const ns = scope.k8sNamespace;
      this.loops.push(
        this.loop('services', ns, ns === undefined ? '/api/v1/services' : `/api/v1/namespaces/${ns}/services`, watch, async () =>
          asList(ns === undefined ? await core.listServiceForAllNamespaces() : await core.listNamespacedService({ namespace: ns })),
        {
          replace: (items) => items.forEach((s) => this.ensureService(s)),
          apply: (type, s) => {
            if (type !== 'DELETED') this.ensureService(s);
          },
        }),
        this.loop(
          'endpointslices',
          ns,
          ns === undefined ? '/apis/discovery.k8s.io/v1/endpointslices' : `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
          watch,
          async () =>
            asList(
              ns === undefined
                ? await discovery.listEndpointSliceForAllNamespaces()
                : await discovery.listNamespacedEndpointSlice({ namespace: ns }),
            ),
          {
            replace: (items) => this.replaceSlices(scope, items),
            apply: (type, s) => this.applySlice(type === 'DELETED', s),
          },
        ),
      );
    }
  }

  /** True once every list has completed once: the registry holds what the cluster held then. */
  get synced(): boolean {
    return this.loops.every((l) => l.synced);
  }

  /** Resolves when every list has completed once. */
  async whenSynced(): Promise<void> {
    await Promise.all(this.loops.map((l) => l.whenSynced()));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.registry.subscribe((c) => this.onRegistryChange(c));
    for (const l of this.loops) l.start();
  }

  /** Ends every watch and pending retry. The source's instances stay in the registry. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const l of this.loops) l.stop();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.dirty.clear();
    if (this.retryTimer !== undefined) this.options.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** The resourceVersion each list/watch loop resumes from, by `resource` or `resource@namespace`. */
  resourceVersions(): Record<string, string> {
    return Object.fromEntries(this.loops.map((l, i) => [this.loopNames[i]!, l.resourceVersion]));
  }

  private loop(
    resource: string,
    k8sNamespace: string | undefined,
    path: string,
    watch: WatchApi,
    list: () => Promise<ListResult>,
    handlers: { replace(items: readonly unknown[]): void; apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: unknown): void },
  ): ListWatchLoop {
    this.loopNames.push(k8sNamespace === undefined ? resource : `${resource}@${k8sNamespace}`);
    return new ListWatchLoop({
      resource,
      path,
      list,
      watch,
      handlers,
      clock: this.options.clock,
      maxBackoffMs: this.options.maxBackoffMs,
      logger: this.logger,
      ...(this.options.metrics !== undefined ? { counters: this.options.metrics.counters(resource) } : {}),
      ...(this.options.random !== undefined ? { random: this.options.random } : {}),
    });
  }

  // ---- Services ----

  private ensureService(object: unknown): void {
    const key = objectKey(object);
    if (key === undefined) return;
    const spec = (object as { spec?: { type?: unknown } }).spec;
    if (spec?.type === 'ExternalName') return;
    const [k8sNamespace, name] = key.split('/') as [string, string];
    const namespace = `${k8sNamespace}.${this.suffix}`;
    if (this.registry.getService(namespace, name) !== undefined) return;
    this.write(`service ${name}.${namespace}`, () => this.guarded(`service ${name}.${namespace}`, () => this.registry.putService(namespace, name)));
  }

  // ---- EndpointSlices ----

  private replaceSlices(scope: Scope, items: readonly unknown[]): void {
    const touched = new Set<string>();
    const seen = new Set<string>();
    for (const item of items) {
      const view = mapSlice(item, this.suffix);
      if (view === undefined) continue;
      seen.add(view.key);
      this.putSlice(view, touched);
    }
    for (const key of [...this.slices.keys()]) {
      if (seen.has(key) || !inScope(scope, key)) continue;
      this.dropSlice(key, touched);
    }
    // Instances left from before (a store that outlived the hub) whose slices are gone.
    for (const inst of this.registry.allInstances()) {
      if (inst.source === 'kubernetes' && this.registryNamespaceInScope(scope, inst.namespace)) touched.add(serviceKey(inst.service, inst.namespace));
    }
    for (const key of touched) this.reconcile(key);
  }

  private applySlice(deleted: boolean, object: unknown): void {
    const touched = new Set<string>();
    if (deleted) {
      const key = objectKey(object);
      if (key !== undefined) this.dropSlice(key, touched);
    } else {
      const view = mapSlice(object, this.suffix);
      if (view !== undefined) this.putSlice(view, touched);
    }
    for (const key of touched) this.reconcile(key);
  }

  private putSlice(view: SliceView, touched: Set<string>): void {
    this.dropSlice(view.key, touched);
    this.slices.set(view.key, view);
    if (view.service === undefined) return;
    const svc = serviceKey(view.service, view.namespace);
    let keys = this.slicesByService.get(svc);
    if (keys === undefined) this.slicesByService.set(svc, (keys = new Set()));
    keys.add(view.key);
    touched.add(svc);
  }

  private dropSlice(key: string, touched: Set<string>): void {
    const old = this.slices.get(key);
    if (old === undefined) return;
    this.slices.delete(key);
    if (old.service === undefined) return;
    const svc = serviceKey(old.service, old.namespace);
    const keys = this.slicesByService.get(svc);
    keys?.delete(key);
    if (keys?.size === 0) this.slicesByService.delete(svc);
    touched.add(svc);
  }

  /** What every slice of one registry service describes, one entry per id. */
  private desiredFor(svc: string): Map<string, DesiredInstance> {
    const out = new Map<string, DesiredInstance>();
    for (const key of this.slicesByService.get(svc) ?? []) {
      for (const inst of this.slices.get(key)?.instances ?? []) {
        // An endpoint moving between slices shows up in both for a moment: keep the better view.
        const held = out.get(inst.id);
        if (held === undefined || HEALTH_RANK[inst.health] > HEALTH_RANK[held.health]) out.set(inst.id, inst);
      }
    }
    return out;
  }

  // ---- reconciling with the registry ----

  /**
   * Brings one registry service in line with the desired set, leaving others' instances alone: one
   * write through the registry's store (applied at once with memory, one transaction with etcd).
   */
  private reconcile(svc: string): void {
    this.write(`service ${svc}`, () => this.reconcileNow(svc), () => {
      // Tried again later, on what the slices say then.
      this.dirty.add(svc);
      this.retryTimer ??= this.options.clock.setTimeout(() => {
        this.retryTimer = undefined;
        this.flush();
      }, STORE_RETRY_MS);
    });
  }

  private write(what: string, fn: () => void, refused: () => void = () => undefined): void {
    this.registry.write(fn).catch((err: unknown) => {
      if (!this.running) return;
      this.logger.warn('registry store refused a Kubernetes write', { object: what, err: err instanceof Error ? err.message : String(err) });
      refused();
    });
  }

  private reconcileNow(svc: string): void {
    const desired = this.desiredFor(svc);
    const [service, namespace] = splitKey(svc);
    const present = this.registry.instancesOf(namespace, service);
    const others = new Set(present.filter((i) => i.source !== 'kubernetes').map((i) => endpointOf(i)));
    for (const inst of present) {
      if (inst.source !== 'kubernetes') continue;
      const want = desired.get(inst.id);
      if (want === undefined || others.has(endpointOf(want))) this.guarded(`instance ${inst.id}`, () => this.registry.deregister(inst.id));
    }
    for (const want of desired.values()) {
      if (others.has(endpointOf(want))) continue;
      const existing = this.registry.getInstance(want.id);
      if (existing !== undefined && existing.source !== 'kubernetes') continue;
      if (existing !== undefined && sameAs(existing, want)) continue;
      this.guarded(`instance ${want.id}`, () =>
        this.registry.register({
          id: want.id,
          namespace: want.namespace,
          service: want.service,
          address: want.address,
          port: want.port,
          protocol: want.protocol,
          zone: want.zone,
          health: want.health,
          metadata: want.metadata,
          source: 'kubernetes',
          ttl: 0,
        }),
      );
    }
  }

  private onRegistryChange(change: RegistryChange): void {
    if (this.applying || change.kind !== 'instance') return;
    const svc = serviceKey(change.instance.service, change.instance.namespace);
    if (!this.slicesByService.has(svc)) return;
    this.dirty.add(svc);
    if (this.flushQueued) return;
    this.flushQueued = true;
    // Not inside the registry's emit: a change made there would reach later subscribers before
    // the change they are being told about.
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private flush(): void {
    if (!this.running) return;
    const keys = [...this.dirty];
    this.dirty.clear();
    for (const key of keys) this.reconcile(key);
  }

  private guarded(what: string, fn: () => unknown): void {
    this.applying = true;
    try {
      fn();
    } catch (err) {
      if (!(err instanceof OutriggerError)) throw err;
      this.logger.warn('registry refused a Kubernetes object', { object: what, code: err.code, err: err.message });
    } finally {
      this.applying = false;
    }
  }

  private registryNamespaceInScope(scope: Scope, namespace: string): boolean {
    return scope.k8sNamespace === undefined ? namespace.endsWith(`.${this.suffix}`) : namespace === `${scope.k8sNamespace}.${this.suffix}`;
  }
}

/** How soon a write the store refused is tried again. */
const STORE_RETRY_MS = 1000;

const HEALTH_RANK = { HEALTHY: 3, DRAINING: 2, UNKNOWN: 1, UNHEALTHY: 0 } as const;

function inScope(scope: Scope, sliceKey: string): boolean {
  return scope.k8sNamespace === undefined || sliceKey.startsWith(`${scope.k8sNamespace}/`);
}

function splitKey(svc: string): [string, string] {
  const dot = svc.indexOf('.');
  return [svc.slice(0, dot), svc.slice(dot + 1)];
}

function endpointOf(i: { address: string; port: number }): string {
  return `${i.address}|${i.port}`;
}

function sameAs(inst: Instance, want: DesiredInstance): boolean {
  if (
    inst.namespace !== want.namespace ||
    inst.service !== want.service ||
    inst.address !== want.address ||
    inst.port !== want.port ||
    inst.protocol !== want.protocol ||
    inst.zone !== want.zone ||
    inst.reportedHealth !== want.health
  ) {
    return false;
  }
  const a = Object.entries(inst.metadata);
  return a.length === Object.keys(want.metadata).length && a.every(([k, v]) => want.metadata[k] === v);
}

function asList(list: { items?: unknown; metadata?: { resourceVersion?: string } }): ListResult {
  return { items: Array.isArray(list.items) ? (list.items as unknown[]) : [], resourceVersion: list.metadata?.resourceVersion ?? '' };
}
