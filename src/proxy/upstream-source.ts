/**
 * Where the outbound proxy learns its clusters: a name (`<service>.<namespace>`) to a config and
 * endpoints. The sidecar wires the xDS client behind this interface; StaticUpstreamSource is a
 * real in-memory implementation for tests and for running without a hub.
 */
import type { Endpoint } from '../balancers/endpoint.js';
import { parseBuiltinServiceConfig } from '../balancers/service-config.js';
import { OutriggerError } from '../common/errors.js';
import type { ServiceConfig, ServiceConfigInput } from '../model/service-config.js';

export interface UpstreamCluster {
  /** `<service>.<namespace>`. */
  readonly name: string;
  readonly config: ServiceConfig;
  readonly endpoints: readonly Endpoint[];
}

export interface UpstreamSource {
  get(name: string): UpstreamCluster | undefined;
  /** On demand: resolves once the cluster is known, rejects (OutriggerError not_found) when the service does not exist. */
  ensure(name: string): Promise<UpstreamCluster>;
  /** The cluster is in use (keeps on-demand subscriptions alive). */
  touch(name: string): void;
  onChange(listener: (cluster: UpstreamCluster | undefined, name: string) => void): () => void;
}

/** What a caller gives StaticUpstreamSource: endpoints may omit everything but address and port. */
export interface StaticEndpointInput {
  readonly id?: string;
  readonly address: string;
  readonly port: number;
  readonly weight?: number;
  readonly zone?: string;
  readonly region?: string;
  readonly health?: Endpoint['health'];
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface StaticClusterInput {
  readonly config?: ServiceConfigInput | undefined;
  readonly endpoints: readonly StaticEndpointInput[];
}

export function toEndpoint(input: StaticEndpointInput): Endpoint {
  return Object.freeze({
    id: input.id ?? `${input.address}:${input.port}`,
    address: input.address,
    port: input.port,
    weight: input.weight ?? 1,
    zone: input.zone ?? '',
    region: input.region ?? '',
    health: input.health ?? 'HEALTHY',
    metadata: Object.freeze({ ...(input.metadata ?? {}) }),
  });
}

export class StaticUpstreamSource implements UpstreamSource {
  private readonly clusters = new Map<string, UpstreamCluster>();
  private readonly listeners = new Set<(cluster: UpstreamCluster | undefined, name: string) => void>();
  /** How often each cluster was touched; tests read it, a real source would renew a subscription. */
  readonly touches = new Map<string, number>();
  /** How often each name was asked for on demand (a real source would ask the hub each time). */
  readonly ensures = new Map<string, number>();

  constructor(clusters: Readonly<Record<string, StaticClusterInput>> = {}) {
    for (const [name, input] of Object.entries(clusters)) this.clusters.set(name, build(name, input));
  }

  /** Adds or replaces a cluster; listeners hear about it. Config errors throw and change nothing. */
  set(name: string, input: StaticClusterInput): UpstreamCluster {
    const cluster = build(name, input);
    this.clusters.set(name, cluster);
    this.emit(cluster, name);
    return cluster;
  }

  delete(name: string): void {
    if (this.clusters.delete(name)) this.emit(undefined, name);
  }

  get(name: string): UpstreamCluster | undefined {
    return this.clusters.get(name);
  }

  ensure(name: string): Promise<UpstreamCluster> {
    this.ensures.set(name, (this.ensures.get(name) ?? 0) + 1);
    const cluster = this.clusters.get(name);
    if (cluster !== undefined) return Promise.resolve(cluster);
    return Promise.reject(new OutriggerError('not_found', `no service named "${name}"`));
  }

  touch(name: string): void {
    this.touches.set(name, (this.touches.get(name) ?? 0) + 1);
  }

  onChange(listener: (cluster: UpstreamCluster | undefined, name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(cluster: UpstreamCluster | undefined, name: string): void {
    for (const l of this.listeners) l(cluster, name);
  }
}

function build(name: string, input: StaticClusterInput): UpstreamCluster {
  return Object.freeze({
    name,
    config: parseBuiltinServiceConfig(input.config ?? {}, `clusters.${name}.config`),
    endpoints: Object.freeze(input.endpoints.map(toEndpoint)),
  });
}
