/**
 * The sidecar's outbound data plane: the main listener (forward proxy, Host routing, CONNECT,
 * upgrades) and one listener per configured upstream local port (HTTP/1.1, HTTP/2 cleartext,
 * gRPC, raw TCP). Clusters (balancer + breaker + retry budget + pools) live in the ClusterSet.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { Agent } from 'undici';
import { systemClock, type Clock } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { createPolicyRegistry } from '../balancers/builtin-policies.js';
import type { RandomSource } from '../balancers/picker.js';
import type { Locality } from '../balancers/routing.js';
import type { ProxyMetrics } from '../metrics/proxy-metrics.js';
import type { ClusterDescription, UpstreamOverride } from './cluster-runtime.js';
import { ClusterSet } from './cluster-set.js';
import { handleConnect } from './connect-tunnel.js';
import { Http1Forwarder } from './http1-forwarder.js';
import { Http2Forwarder } from './http2-forwarder.js';
import { HttpRouter, type RouteResult } from './http-router.js';
import { ProxyError } from './proxy-errors.js';
import { clusterNameFor, parseRequestTarget, type RequestTarget } from './request-target.js';
import { refuseUnlessHttp1, sendHttpError, sendRawHttpError } from './send-error.js';
import { createTcpProxy } from './tcp-proxy.js';
import type { UpstreamSource } from './upstream-source.js';
import { proxyUpgrade } from './websocket-proxy.js';

export type UpstreamProtocol = 'http' | 'http2' | 'grpc' | 'tcp';

export interface UpstreamEntry {
  /** `worker.secure-api.local`, or a short name in the sidecar's namespace. */
  readonly service: string;
  /** A local port for this upstream (0: any free port, reported by start()). */
  readonly local_port?: number | undefined;
  readonly protocol?: UpstreamProtocol | undefined;
  readonly lb_policy?: string | undefined;
  readonly lb_options?: Readonly<Record<string, unknown>> | undefined;
  readonly timeout_ms?: number | undefined;
}

export interface OutboundProxyOptions {
  readonly source: UpstreamSource;
  /** The sidecar's namespace, for short names. */
  readonly namespace: string;
  readonly locality?: Locality | undefined;
  readonly listen: { readonly host: string; readonly port: number };
  readonly upstreams?: readonly UpstreamEntry[] | undefined;
  /** Forward hosts outside the mesh to the real host (default true). */
  readonly passthrough?: boolean | undefined;
  readonly clock?: Clock | undefined;
  readonly logger?: Logger | undefined;
  readonly metrics?: ProxyMetrics | undefined;
  readonly random?: RandomSource | undefined;
  /** How long stop() waits for in-flight requests before closing what is left (default 10 s). */
  readonly drainTimeoutMs?: number | undefined;
}

interface LocalListener {
  readonly key: string;
  readonly cluster: string;
  readonly port: number;
  readonly server: net.Server;
}

export class OutboundProxy {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly clusters: ClusterSet;
  private readonly router: HttpRouter;
  private readonly http1: Http1Forwarder;
  private readonly http2: Http2Forwarder;
  private readonly passthroughAgent: Agent;
  private readonly entries: readonly (UpstreamEntry & { readonly cluster: string })[];
  private main: http.Server | undefined;
  private readonly locals: LocalListener[] = [];
  private readonly h2Sessions = new Set<http2.ServerHttp2Session>();
  /** Live TCP / CONNECT / WebSocket socket pairs. */
  private readonly tunnels = new Set<net.Socket>();

  constructor(private readonly opts: OutboundProxyOptions) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
    const random = opts.random ?? Math.random;
    const overrides = new Map<string, UpstreamOverride>();
    this.entries = (opts.upstreams ?? []).map((u, i) => {
      const cluster = clusterNameFor(u.service.toLowerCase(), opts.namespace);
      if (cluster === undefined) throw new OutriggerError('config_invalid', `upstreams[${i}].service: "${u.service}" is not a service name`, `upstreams[${i}].service`);
      if (u.lb_policy !== undefined || u.timeout_ms !== undefined) {
        overrides.set(cluster, { lb_policy: u.lb_policy, lb_options: u.lb_options, timeout_ms: u.timeout_ms });
      }
      return { ...u, cluster };
    });
    const policies = createPolicyRegistry();
    // Validate overrides now: a bad lb_policy fails at construction, naming the field.
    this.entries.forEach((u, i) => {
      if (u.lb_policy !== undefined) policies.create(u.lb_policy, u.lb_options ?? {}, `upstreams[${i}].lb_policy`, `upstreams[${i}].lb_options`);
    });
    this.clusters = new ClusterSet(
      opts.source,
      overrides,
      { policies, clock: this.clock, random, locality: opts.locality, logger: this.logger, metrics: opts.metrics },
      this.logger,
    );
    this.router = new HttpRouter(this.clusters, opts.namespace, opts.passthrough ?? true);
    this.passthroughAgent = new Agent({ headersTimeout: 0, bodyTimeout: 0, connections: 128 });
    this.http1 = new Http1Forwarder({ clock: this.clock, random, logger: this.logger, metrics: opts.metrics, passthrough: this.passthroughAgent });
    this.http2 = new Http2Forwarder({ clock: this.clock, random, logger: this.logger, metrics: opts.metrics });
  }

  async start(): Promise<{ port: number; localPorts: Record<string, number> }> {
    const main = this.createHttpServer((req, res) => this.onMainRequest(req, res));
    main.on('connect', (req: IncomingMessage, socket, head: Buffer) => {
      if (!refuseUnlessHttp1(req, socket)) void handleConnect(req, socket, head, this.router, this.clock, this.logger, this.tunnels);
    });
    main.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
      if (!refuseUnlessHttp1(req, socket)) this.onMainUpgrade(req, socket, head);
    });
    this.main = main;
    const port = await listen(main, this.opts.listen.host, this.opts.listen.port);
    const localPorts: Record<string, number> = {};
    for (const entry of this.entries) {
      if (entry.local_port === undefined) continue;
      const server = this.createLocalServer(entry.cluster, entry.protocol ?? 'http');
      const p = await listen(server, this.opts.listen.host, entry.local_port);
      this.locals.push({ key: entry.service, cluster: entry.cluster, port: p, server });
      localPorts[entry.service] = p;
    }
    this.logger.info('outbound proxy listening', { port, local_ports: localPorts });
    return { port, localPorts };
  }

  /** Graceful: stop accepting, let in-flight requests finish (bounded), close upstream pools. */
  async stop(): Promise<void> {
    const servers: net.Server[] = [...(this.main !== undefined ? [this.main] : []), ...this.locals.map((l) => l.server)];
    const closing = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const s of servers) if (s instanceof http.Server) s.closeIdleConnections();
    for (const session of this.h2Sessions) session.close();
    const drain = this.opts.drainTimeoutMs ?? 10_000;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    await Promise.race([
      Promise.all(closing),
      new Promise<void>((resolve) => {
        timer = this.clock.setTimeout(resolve, drain).unref();
      }),
    ]);
    this.clock.clearTimeout(timer);
    for (const s of servers) if (s instanceof http.Server) s.closeAllConnections();
    for (const session of this.h2Sessions) session.destroy();
    for (const socket of this.tunnels) socket.destroy();
    await Promise.all(closing);
    await this.clusters.close();
    await this.passthroughAgent.close();
  }

  describeClusters(): ClusterDescription[] {
    return this.clusters.describe();
  }

  private createHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): http.Server {
    const server = http.createServer({ keepAliveTimeout: 60_000, requestTimeout: 0, noDelay: true }, (req, res) => {
      if (!refuseUnlessHttp1(req, req.socket)) handler(req, res);
    });
    server.headersTimeout = 60_000;
    server.on('clientError', (_err, socket) => {
      if (!socket.destroyed) socket.destroy();
    });
    return server;
  }

  private createLocalServer(cluster: string, protocol: UpstreamProtocol): net.Server {
    switch (protocol) {
      case 'tcp':
        return createTcpProxy(this.clusters, cluster, this.clock, this.logger, this.opts.metrics, this.tunnels);
      case 'http2':
      case 'grpc': {
        const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
        server.on('session', (s) => {
          this.h2Sessions.add(s);
          s.on('close', () => this.h2Sessions.delete(s));
        });
        server.on('stream', (stream, headers) => this.onLocalStream(cluster, stream, headers));
        return server;
      }
      case 'http': {
        const server = this.createHttpServer((req, res) => this.onLocalRequest(cluster, req, res));
        server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
          if (refuseUnlessHttp1(req, socket)) return;
          const r = this.clusters.resolve(cluster);
          const route: RouteResult | Promise<RouteResult> = toRoute(r, cluster);
          void this.withRoute(route, (result) => {
            if (result.kind === 'error') return sendRawHttpError(socket, result.error);
            if (result.kind === 'cluster') void proxyUpgrade(req, socket, head, result, req.url ?? '/', this.clock, this.logger, this.tunnels);
          });
        });
        return server;
      }
    }
  }

  private onMainRequest(req: IncomingMessage, res: ServerResponse): void {
    const target = parseRequestTarget(req.url ?? '/', req.headers.host);
    if (target === undefined) {
      sendHttpError(res, new ProxyError('unknown_service', `cannot tell the destination of "${req.url ?? ''}" (no Host header or an unsupported URL)`));
      return;
    }
    const route = this.router.route(target, 80);
    if (!(route instanceof Promise)) return this.forwardHttp1(req, res, target, route);
    void route.then((r) => this.forwardHttp1(req, res, target, r));
  }

  private forwardHttp1(req: IncomingMessage, res: ServerResponse, target: RequestTarget, route: RouteResult): void {
    switch (route.kind) {
      case 'error':
        return sendHttpError(res, route.error);
      case 'cluster':
        return this.http1.forward(req, res, { runtime: route.runtime, origin: undefined, path: target.path, authority: target.authority, absolute: target.absolute });
      case 'passthrough':
        return this.http1.forward(req, res, { runtime: undefined, origin: `http://${hostPort(route.host, route.port)}`, path: target.path, authority: target.authority, absolute: target.absolute });
    }
  }

  private onMainUpgrade(req: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    const target = parseRequestTarget(req.url ?? '/', req.headers.host);
    if (target === undefined) return sendRawHttpError(socket, new ProxyError('unknown_service', 'cannot tell the destination of the upgrade request'));
    void this.withRoute(this.router.route(target, 80), (route) => {
      if (route.kind === 'error') return sendRawHttpError(socket, route.error);
      void proxyUpgrade(req, socket, head, route, target.path, this.clock, this.logger, this.tunnels);
    });
  }

  private onLocalRequest(cluster: string, req: IncomingMessage, res: ServerResponse): void {
    const resolved = this.clusters.resolve(cluster);
    const path = req.url ?? '/';
    if (resolved !== undefined && !(resolved instanceof Promise)) {
      // The hot path: a cluster in use, no route object and no promise.
      this.http1.forward(req, res, { runtime: resolved, origin: undefined, path, authority: req.headers.host, absolute: false });
      return;
    }
    const route = toRoute(resolved, cluster);
    const forward = (r: RouteResult): void => {
      if (r.kind === 'error') return sendHttpError(res, r.error);
      if (r.kind === 'cluster') this.http1.forward(req, res, { runtime: r.runtime, origin: undefined, path, authority: req.headers.host, absolute: false });
    };
    if (!(route instanceof Promise)) return forward(route);
    void route.then(forward);
  }

  private onLocalStream(cluster: string, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    const resolved = this.clusters.resolve(cluster);
    if (resolved !== undefined && !(resolved instanceof Promise)) return this.http2.forward(stream, headers, resolved);
    void this.withRoute(toRoute(resolved, cluster), (r) => {
      if (r.kind === 'cluster') return this.http2.forward(stream, headers, r.runtime);
      if (r.kind !== 'error' || stream.destroyed || stream.headersSent) return;
      const ct = headers['content-type'];
      if (typeof ct === 'string' && ct.startsWith('application/grpc')) stream.respond(r.error.grpcHeaders(), { endStream: true });
      else {
        const body = r.error.body();
        stream.respond({ ':status': r.error.httpStatus, ...r.error.headers(body) });
        stream.end(body);
      }
    });
  }

  private async withRoute(route: RouteResult | Promise<RouteResult>, fn: (r: RouteResult) => void): Promise<void> {
    fn(route instanceof Promise ? await route : route);
  }
}

function toRoute(r: ReturnType<ClusterSet['resolve']>, cluster: string): RouteResult | Promise<RouteResult> {
  // Built only when needed: an Error captures a stack trace, far too dear for every request.
  const unknown = (): RouteResult => ({ kind: 'error', error: new ProxyError('unknown_service', `no service named "${cluster}" in the mesh`) });
  if (r === undefined) return unknown();
  if (!(r instanceof Promise)) return { kind: 'cluster', runtime: r };
  return r.then(
    (runtime) => (runtime === undefined ? unknown() : { kind: 'cluster', runtime }),
    (err: unknown) => ({ kind: 'error', error: new ProxyError('unknown_service', `cannot resolve service "${cluster}": ${String(err)}`) }),
  );
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
}
