/**
 * What Cloud Map knows that the registry does not: a namespace's type, Vpc and creator request
 * id, a service's DnsConfig and health check settings, tags, the operations it reported, and the
 * instances revision of each service. The registry stays the one source of truth for what
 * exists: this store follows its changes, and forgets a namespace or service the moment the
 * registry removes it, whichever API removed it.
 */
import type { Clock } from '../common/clock.js';
import { serviceKey } from '../model/names.js';
import type { RegistryChange } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import { namespaceId, newOperationId, serviceId } from './cloudmap-ids.js';

export type NamespaceType = 'HTTP' | 'DNS_PRIVATE';

export interface NamespaceRecord {
  readonly type: NamespaceType;
  readonly creatorRequestId?: string;
  /** The operation that created it, answered again to a retry with the same CreatorRequestId. */
  readonly operationId?: string;
  readonly vpc?: string;
  readonly soaTtl?: number;
}

export interface DnsRecordConfig {
  readonly Type: 'SRV' | 'A' | 'AAAA' | 'CNAME';
  readonly TTL: number;
}

export interface ServiceRecord {
  readonly description: string;
  readonly creatorRequestId?: string;
  readonly type?: 'HTTP' | 'DNS_HTTP' | 'DNS';
  readonly dnsConfig?: { readonly RoutingPolicy?: 'MULTIVALUE' | 'WEIGHTED'; readonly DnsRecords: readonly DnsRecordConfig[] };
  readonly healthCheckConfig?: { readonly Type: 'HTTP' | 'HTTPS' | 'TCP'; readonly ResourcePath?: string; readonly FailureThreshold?: number };
  readonly healthCheckCustomConfig?: { readonly FailureThreshold?: number };
}

export const OPERATION_TYPES = ['CREATE_NAMESPACE', 'DELETE_NAMESPACE', 'UPDATE_NAMESPACE', 'UPDATE_SERVICE', 'REGISTER_INSTANCE', 'DEREGISTER_INSTANCE'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];
export const OPERATION_STATUSES = ['SUBMITTED', 'PENDING', 'SUCCESS', 'FAIL'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

export interface OperationRecord {
  readonly id: string;
  readonly type: OperationType;
  readonly status: OperationStatus;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Where it happened, by name, so a read check needs no id lookup. */
  readonly namespace: string;
  readonly service?: string;
  readonly instance?: string;
}

/** Enough history for a client to poll its operations; the oldest are forgotten first. */
export const MAX_OPERATIONS = 10_000;
/** Tags per resource, as AWS allows. */
export const MAX_TAGS = 50;

export class CloudMapStore {
  private readonly namespaces = new Map<string, NamespaceRecord>();
  private readonly services = new Map<string, ServiceRecord>();
  /** Tags by resource id (ns-… or srv-…). */
  private readonly tags = new Map<string, Map<string, string>>();
  /** In insertion order, so the oldest is the first to go. */
  private readonly operations = new Map<string, OperationRecord>();
  /** Registry version of the last instance change per service: DiscoverInstancesRevision. */
  private readonly revisions = new Map<string, number>();
  /** Instance id → the CreatorRequestId it was registered with. */
  private readonly instanceRequests = new Map<string, string>();
  /** Ids back to names, so resolving an id is a lookup rather than a hash of every name. */
  private readonly namespaceNames = new Map<string, string>();
  private readonly serviceNames = new Map<string, { namespace: string; name: string }>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly registry: Registry,
    private readonly clock: Clock,
  ) {
    this.unsubscribe = registry.subscribe((change) => this.follow(change));
    for (const ns of registry.listNamespaces()) this.namespaceNames.set(namespaceId(ns.name), ns.name);
    for (const s of registry.listServices()) this.serviceNames.set(serviceId(s.namespace, s.name), { namespace: s.namespace, name: s.name });
  }

  /** The name of the namespace with this id, if it exists. */
  namespaceName(id: string): string | undefined {
    return this.namespaceNames.get(id);
  }

  /** The namespace and name of the service with this id, if it exists. */
  serviceName(id: string): { namespace: string; name: string } | undefined {
    return this.serviceNames.get(id);
  }

  close(): void {
    this.unsubscribe();
  }

  namespace(name: string): NamespaceRecord | undefined {
    return this.namespaces.get(name);
  }

  setNamespace(name: string, record: NamespaceRecord): void {
    this.namespaces.set(name, record);
  }

  service(namespace: string, name: string): ServiceRecord | undefined {
    return this.services.get(serviceKey(name, namespace));
  }

  setService(namespace: string, name: string, record: ServiceRecord): void {
    this.services.set(serviceKey(name, namespace), record);
  }

  /** A namespace created with this CreatorRequestId, if one lives. */
  namespaceByRequest(creatorRequestId: string): string | undefined {
    for (const [name, r] of this.namespaces) if (r.creatorRequestId === creatorRequestId) return name;
    return undefined;
  }

  serviceByRequest(creatorRequestId: string): { namespace: string; name: string } | undefined {
    for (const s of this.registry.listServices()) {
      if (this.services.get(serviceKey(s.name, s.namespace))?.creatorRequestId === creatorRequestId) return { namespace: s.namespace, name: s.name };
    }
    return undefined;
  }

  instanceRequest(id: string): string | undefined {
    return this.instanceRequests.get(id);
  }

  setInstanceRequest(id: string, creatorRequestId: string | undefined): void {
    if (creatorRequestId === undefined) this.instanceRequests.delete(id);
    else this.instanceRequests.set(id, creatorRequestId);
  }

  revision(namespace: string, name: string): number {
    return this.revisions.get(serviceKey(name, namespace)) ?? this.registry.getService(namespace, name)?.revision ?? 0;
  }

  tagsOf(resourceId: string): ReadonlyMap<string, string> {
    return this.tags.get(resourceId) ?? new Map();
  }

  setTags(resourceId: string, tags: ReadonlyMap<string, string>): void {
    if (tags.size === 0) this.tags.delete(resourceId);
    else this.tags.set(resourceId, new Map(tags));
  }

  /** Records an operation that has already run and succeeded: every write here completes before it answers. */
  recordOperation(type: OperationType, target: { namespace: string; service?: string; instance?: string }): OperationRecord {
    const now = this.clock.now();
    const record: OperationRecord = { id: newOperationId(), type, status: 'SUCCESS', ...target, createdAt: now, updatedAt: now };
    this.operations.set(record.id, record);
    if (this.operations.size > MAX_OPERATIONS) this.operations.delete(this.operations.keys().next().value!);
    return record;
  }

  operation(id: string): OperationRecord | undefined {
    return this.operations.get(id);
  }

  allOperations(): OperationRecord[] {
    return [...this.operations.values()];
  }

  private follow(change: RegistryChange): void {
    if (change.kind === 'instance') {
      this.revisions.set(serviceKey(change.instance.service, change.instance.namespace), change.version);
      if (change.op === 'remove') this.instanceRequests.delete(change.instance.id);
    } else if (change.kind === 'service') {
      const s = change.service;
      const id = serviceId(s.namespace, s.name);
      if (change.op === 'upsert') {
        this.serviceNames.set(id, { namespace: s.namespace, name: s.name });
        return;
      }
      this.serviceNames.delete(id);
      this.services.delete(serviceKey(s.name, s.namespace));
      this.revisions.delete(serviceKey(s.name, s.namespace));
      this.tags.delete(id);
    } else {
      const name = change.namespace.name;
      if (change.op === 'upsert') {
        this.namespaceNames.set(namespaceId(name), name);
        return;
      }
      this.namespaceNames.delete(namespaceId(name));
      this.namespaces.delete(name);
      this.tags.delete(namespaceId(name));
    }
  }
}
