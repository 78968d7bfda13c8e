/**
 * Routing, the one place where a name becomes a cluster: forward-proxy and Host routing on the
 * main listener (a host outside the mesh becomes passthrough to the real host when passthrough is
 * on), a per-upstream port's own cluster, HTTP/2 by :authority, TCP, CONNECT and upgrades. The
 * answer is synchronous for a cluster in use (the hot path) and a promise when it must be looked
 * up; an unknown name is `unknown_service`.
 */
import type { ClusterRuntime } from './cluster-runtime.js';
import type { ClusterSet } from './cluster-set.js';
import { ProxyError } from './proxy-errors.js';
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

  /** A request target on the main listener: a mesh service, the real host, or an error. */
  route(target: RequestTarget, defaultPort: number): RouteResult | Promise<RouteResult> {
    const name = clusterNameFor(target.host, this.namespace);
    if (name === undefined) return this.outside(target, defaultPort, target.host);
    return this.resolve(name, () => this.outside(target, defaultPort, name));
  }

  /** A cluster by name (a per-upstream port's, or an HTTP/2 :authority's): no passthrough. */
  cluster(name: string): RouteResult | Promise<RouteResult> {
    return this.resolve(name, () => unknown(name));
  }

  /** The one handling of ClusterSet.resolve's three answers. */
  private resolve(name: string, missing: () => RouteResult): RouteResult | Promise<RouteResult> {
    const r = this.clusters.resolve(name);
    if (r === undefined) return missing();
    if (!(r instanceof Promise)) return { kind: 'cluster', runtime: r };
    return r.then(
      (runtime) => (runtime !== undefined ? { kind: 'cluster', runtime } : missing()),
      (err: unknown) => ({
        kind: 'error',
        error: new ProxyError('unknown_service', `cannot resolve service "${name}": ${err instanceof Error ? err.message : String(err)}`),
      }),
    );
  }

  private outside(target: RequestTarget, defaultPort: number, name: string): RouteResult {
    if (!target.absolute) return unknown(name);
    if (!this.passthrough) {
      return {
        kind: 'error',
        error: new ProxyError('unknown_service', `host "${target.host}" is not a service in the mesh, and passthrough to hosts outside the mesh is disabled`),
      };
    }
    return { kind: 'passthrough', host: target.host, port: target.port ?? defaultPort };
  }
}

/** Built only when needed: an Error captures a stack trace, far too dear for every request. */
function unknown(name: string): RouteResult {
  return { kind: 'error', error: new ProxyError('unknown_service', `no service named "${name}" in the mesh`) };
}

/** Runs `fn` with the route, at once when it is known. */
export function withRoute(route: RouteResult | Promise<RouteResult>, fn: (r: RouteResult) => void): void {
  if (route instanceof Promise) void route.then(fn);
  else fn(route);
}
