/**
 * Forward-proxy and Host routing on the main listener: from a request target to a cluster, or to
 * the real host (passthrough) when the host is outside the mesh and passthrough is on.
 */
import { ProxyError } from './proxy-errors.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import type { ClusterSet } from './cluster-set.js';
import { clusterNameFor, type RequestTarget } from './request-target.js';

export type RouteResult =
  | { readonly kind: 'cluster'; readonly runtime: ClusterRuntime }
  | { readonly kind: 'passthrough'; readonly host: string; readonly port: number }
  | { readonly kind: 'error'; readonly error: ProxyError };

export class HttpRouter {
  constructor(
    private readonly clusters: ClusterSet,
    private readonly namespace: string,
    private readonly passthrough: boolean,
  ) {}

  /** Synchronous when the cluster is already in use (the hot path), a promise when it must be looked up. */
  route(target: RequestTarget, defaultPort: number): RouteResult | Promise<RouteResult> {
    const name = clusterNameFor(target.host, this.namespace);
    if (name === undefined) return this.outside(target, defaultPort, target.host);
    const r = this.clusters.resolve(name);
    if (r === undefined) return this.outside(target, defaultPort, name);
    if (!(r instanceof Promise)) return { kind: 'cluster', runtime: r };
    return r.then(
      (runtime) => (runtime !== undefined ? { kind: 'cluster', runtime } : this.outside(target, defaultPort, name)),
      (err: unknown) => ({
        kind: 'error',
        error: new ProxyError('unknown_service', `cannot resolve service "${name}": ${err instanceof Error ? err.message : String(err)}`),
      }),
    );
  }

  private outside(target: RequestTarget, defaultPort: number, name: string): RouteResult {
    if (!target.absolute) {
      return { kind: 'error', error: new ProxyError('unknown_service', `no service named "${name}" in the mesh`) };
    }
    if (!this.passthrough) {
      return {
        kind: 'error',
        error: new ProxyError('unknown_service', `host "${target.host}" is not a service in the mesh, and passthrough to hosts outside the mesh is disabled`),
      };
    }
    return { kind: 'passthrough', host: target.host, port: target.port ?? defaultPort };
  }
}
