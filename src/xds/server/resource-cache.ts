import type { Logger } from '../../common/logger.js';
import { serviceKey } from '../../model/names.js';
import { type Instance } from '../../registry/model.js';
import type { Registry } from '../../registry/registry.js';
import { encodeCluster } from '../resources/cluster-encode.js';
import { encodeClusterLoadAssignment } from '../resources/endpoints-encode.js';
import { encodeListener } from '../resources/listener-encode.js';
import { encodeRouteConfiguration } from '../resources/route-encode.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL, XDS_TYPE_URLS, type XdsTypeUrl } from '../type-urls.js';

/** One version of one resource, encoded once as the bytes of its google.protobuf.Any. */
export interface CachedResource {
  readonly name: string;
  readonly version: string;
  readonly any: Buffer;
}

/** A resource whose bytes are encoded when a stream first needs them (nobody subscribed when it changed). */
interface LazyResource {
  readonly name: string;
  readonly version: string;
  readonly build: () => Buffer | undefined;
}

/** The resources of one type, and the version of the type as a whole (a response's version_info). */
export class TypeResources {
  private readonly entries = new Map<string, CachedResource | LazyResource>();
  private current = '0';

  constructor(readonly typeUrl: XdsTypeUrl) {}

  get version(): string {
    return this.current;
  }

  get size(): number {
    return this.entries.size;
  }

  get(name: string): CachedResource | undefined {
    const e = this.entries.get(name);
    return e === undefined ? undefined : this.materialize(e);
  }

  *all(): IterableIterator<CachedResource> {
    for (const e of this.entries.values()) {
      const r = this.materialize(e);
      if (r !== undefined) yield r;
    }
  }

  /** Every resource name, without encoding anything. */
  names(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** Stores new bytes; false (and no new version) when they equal what is stored. */
  put(name: string, any: Buffer, version: string): boolean {
    const old = this.entries.get(name);
    if (old !== undefined && 'any' in old && old.any.equals(any)) return false;
    this.entries.set(name, { name, version, any });
    this.current = version;
    return true;
  }

  /** A new version whose bytes are built on first use; it cannot be compared with the old, so it always counts as a change. */
  putLazy(name: string, version: string, build: () => Buffer | undefined): boolean {
    this.entries.set(name, { name, version, build });
    this.current = version;
    return true;
  }

  remove(name: string, version: string): boolean {
    if (!this.entries.delete(name)) return false;
    this.current = version;
    return true;
  }

  private materialize(e: CachedResource | LazyResource): CachedResource | undefined {
    if ('any' in e) return e;
    const any = e.build();
    if (any === undefined) return undefined;
    const r: CachedResource = { name: e.name, version: e.version, any };
    this.entries.set(e.name, r);
    return r;
  }
}

/** What a rebuild changed: resource names per type. */
export type ChangedResources = Map<XdsTypeUrl, Set<string>>;

/** A service whose resources must be rebuilt; `config` when more than its instances changed. */
export interface DirtyService {
  readonly namespace: string;
  readonly name: string;
  config: boolean;
}

/**
 * The hub's xDS resources for every service, derived from the registry. Each resource is
 * encoded once per change and shared by every stream; an unchanged rebuild (same bytes) keeps
 * its version, so it is pushed to nobody.
 */
export class ResourceCache {
  private readonly types = new Map<XdsTypeUrl, TypeResources>(XDS_TYPE_URLS.map((t) => [t, new TypeResources(t)]));
  /** Per service, the hostname instances already reported, so each is logged once. */
  private readonly skipped = new Map<string, Set<string>>();

  constructor(
    private readonly registry: Registry,
    private readonly logger: Logger,
  ) {}

  of(type: XdsTypeUrl): TypeResources {
    return this.types.get(type)!;
  }

  /** Builds every service's resources (at start). */
  buildAll(): ChangedResources {
    const dirty = this.registry.listServices().map((s): DirtyService => ({ namespace: s.namespace, name: s.name, config: true }));
    return this.rebuild(dirty);
  }

  /**
   * `subscribed` says whether any stream wants a resource: the endpoints of a service nobody
   * subscribes to are encoded when a stream first asks, not on every change (registering 100,000
   * instances would otherwise re-encode each service's whole assignment per registration).
   */
  rebuild(services: Iterable<DirtyService>, subscribed: (type: XdsTypeUrl, name: string) => boolean = () => true): ChangedResources {
    const version = String(this.registry.version);
    const changed: ChangedResources = new Map();
    const note = (type: XdsTypeUrl, name: string, didChange: boolean): void => {
      if (!didChange) return;
      let names = changed.get(type);
      if (names === undefined) changed.set(type, (names = new Set()));
      names.add(name);
    };
    for (const d of services) {
      const key = serviceKey(d.name, d.namespace);
      const service = this.registry.getService(d.namespace, d.name);
      if (service === undefined) {
        for (const type of XDS_TYPE_URLS) note(type, key, this.of(type).remove(key, version));
        this.skipped.delete(key);
        continue;
      }
      const lazyEndpoints = !subscribed(ENDPOINT_TYPE_URL, key);
      // Encode everything first, so that a service that fails to encode changes nothing.
      let encoded: Array<[XdsTypeUrl, Buffer]>;
      try {
        encoded = lazyEndpoints ? [] : [[ENDPOINT_TYPE_URL, this.encodeEndpoints(d.namespace, d.name, key)]];
        if (d.config) {
          encoded.push(
            [CLUSTER_TYPE_URL, encodeCluster(service)],
            [LISTENER_TYPE_URL, encodeListener(key)],
            [ROUTE_TYPE_URL, encodeRouteConfiguration(service)],
          );
        }
      } catch (err) {
        this.logger.error('xds: cannot encode the resources of a service; clients keep its previous ones', { service: key, err: String(err) });
        continue;
      }
      for (const [type, any] of encoded) note(type, key, this.of(type).put(key, any, version));
      if (lazyEndpoints) {
        note(
          ENDPOINT_TYPE_URL,
          key,
          this.of(ENDPOINT_TYPE_URL).putLazy(key, version, () => {
            try {
              return this.encodeEndpoints(d.namespace, d.name, key);
            } catch (err) {
              this.logger.error('xds: cannot encode the endpoints of a service', { service: key, err: String(err) });
              return undefined;
            }
          }),
        );
      }
    }
    return changed;
  }

  private encodeEndpoints(namespace: string, name: string, key: string): Buffer {
    return encodeClusterLoadAssignment(key, this.registry.instancesOf(namespace, name), this.skipReporter(key));
  }

  /** Logs each hostname instance once while it stays one; forgets those that went away. */
  private skipReporter(key: string): (inst: Instance) => void {
    const before = this.skipped.get(key) ?? new Set<string>();
    const now = new Set<string>();
    this.skipped.set(key, now);
    return (inst) => {
      now.add(inst.id);
      if (before.has(inst.id)) return;
      this.logger.warn('xds: instance left out of EDS, its address is a hostname (clients need an IP literal)', {
        service: key,
        id: inst.id,
        address: inst.address,
      });
    };
  }
}
