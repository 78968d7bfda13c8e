/**
 * The sidecar's outbound data plane: the main listener (forward proxy, Host routing, CONNECT,
 * upgrades, and HTTP/2 or gRPC by :authority when a connection opens with the h2c preface) and one
 * listener per configured upstream local port (HTTP/1.1, HTTP/2 cleartext, gRPC, raw TCP).
 * Clusters (balancer + breaker + retry budget + pools) live in the ClusterSet.
 *
 * HTTP/1.1 runs on raw sockets with llhttp for framing (`http1/`); when Node's parser binding is
 * missing or fails its self-test, or `http1Engine: 'node'` asks for it, on node:http + undici.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Agent } from 'undici';
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
import { handBack, sniffH2c } from './h2c-preface.js';
import { rawHeaderValue } from './hop-headers.js';
import { Http1Forwarder } from './http1-forwarder.js';
import { Http1Server, type RoutedHead } from './http1/http1-server.js';
import type { Http1Env } from './http1/http1-env.js';
import { loadLlhttp, type MessageHead } from './http1/llhttp-parser.js';
import type { ExchangeTarget } from './http1/proxy-exchange.js';
import { UpstreamPools } from './http1/upstream-pools.js';
import { Http2Forwarder } from './http2-forwarder.js';
import { HttpRouter, withRoute, type RouteResult } from './http-router.js';
import { ProxyError } from './proxy-errors.js';
import { clusterNameFor, parseRequestTarget, splitAuthority, type RequestTarget } from './request-target.js';
import type { RetryDeps } from './retry-state.js';
import { refuseUnlessHttp1, sendHttpError, sendRawHttpError } from './send-error.js';
import { createTcpProxy } from './tcp-proxy.js';
import { tunnelRequestOf, type TunnelRequest } from './tunnel-request.js';
import type { UpstreamSource } from './upstream-source.js';
import { proxyUpgrade } from './websocket-proxy.js';

export type UpstreamProtocol = 'http' | 'http2' | 'grpc' | 'tcp';

/** How HTTP/1.1 is served: raw sockets with llhttp (default), or node:http + undici. */
export type Http1Engine = 'llhttp' | 'node';

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
  /** The HTTP/1.1 engine (default llhttp, falling back to node with a warning when it cannot run). */
  readonly http1Engine?: Http1Engine | undefined;
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

const NO_TARGET = { path: '/', authority: undefined, absolute: false } as const;

export class OutboundProxy {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly clusters: ClusterSet;
  private readonly router: HttpRouter;
  private readonly deps: RetryDeps;
  private readonly http2: Http2Forwarder;
  private readonly entries: readonly (UpstreamEntry & { readonly cluster: string })[];
  private engine: Http1Engine = 'llhttp';
  private env: Http1Env | undefined;
  private http1: Http1Forwarder | undefined;
  private passthroughAgent: Agent | undefined;
  private main: net.Server | undefined;
  /** Serves the main port's HTTP/1.1 connections: a raw Http1Server, or node:http's (never listening itself). */
  private mainHttp1: Http1Server | http.Server | undefined;
  private readonly rawServers: Http1Server[] = [];
  private readonly locals: LocalListener[] = [];
  private readonly h2Sessions = new Set<http2.ServerHttp2Session>();
  /** Live TCP / CONNECT / WebSocket socket pairs. */
  private readonly tunnels = new Set<net.Socket>();
  /** Main-port connections whose protocol is not known yet. */
  private readonly sniffing = new Set<net.Socket>();

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
    this.deps = { clock: this.clock, random, metrics: opts.metrics };
    this.http2 = new Http2Forwarder({ clock: this.clock, random, logger: this.logger, metrics: opts.metrics });
  }

  /** The HTTP/1.1 engine in use (known once started). */
  get http1Engine(): Http1Engine {
    return this.engine;
  }

  async start(): Promise<{ port: number; localPorts: Record<string, number> }> {
    await this.chooseEngine();
    const h2 = this.createH2Server((stream, headers) => this.onMainStream(stream, headers));
    const env = this.env;
    let onHttp1: (socket: net.Socket, read: Buffer) => void;
    if (env !== undefined) {
      const raw = this.createRawServer(env, (head) => this.routeMain(head), (socket, head, rest) => this.onMainTunnel(socket, head, rest));
      this.mainHttp1 = raw;
      onHttp1 = (socket, read) => raw.accept(socket, read);
    } else {
      const server = this.createHttpServer((req, res) => this.onMainRequest(req, res));
      server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (!refuseUnlessHttp1(req, socket)) void handleConnect(tunnelRequestOf(req), socket, head, this.router, this.deps, this.logger, this.tunnels);
      });
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (!refuseUnlessHttp1(req, socket)) this.onMainUpgrade(tunnelRequestOf(req), socket, head);
      });
      // node:http tracks connections (closeIdleConnections at stop) from 'listening' on; this
      // server never listens itself: the main listener hands it its HTTP/1.1 connections.
      server.emit('listening');
      this.mainHttp1 = server;
      onHttp1 = (socket, read) => {
        handBack(socket, read);
        server.emit('connection', socket);
        socket.resume();
      };
    }
    const main = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      socket.on('error', () => undefined);
      const sniffing = this.sniffing.add(socket);
      const known = (): boolean => sniffing.delete(socket);
      socket.once('close', known);
      sniffH2c(
        socket,
        (s, read) => {
          known();
          handBack(s, read);
          h2.emit('connection', s);
        },
        (s, read) => {
          known();
          onHttp1(s, read);
        },
      );
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
    this.logger.info('outbound proxy listening', { port, local_ports: localPorts, http1_engine: this.engine });
    return { port, localPorts };
  }

  /** Graceful: stop accepting, let in-flight requests finish (bounded), close upstream pools. */
  async stop(): Promise<void> {
    const servers: net.Server[] = [...(this.main !== undefined ? [this.main] : []), ...this.locals.map((l) => l.server)];
    const closing = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    const nodeServers: http.Server[] = [...servers, ...(this.mainHttp1 instanceof http.Server ? [this.mainHttp1] : [])].filter((s): s is http.Server => s instanceof http.Server);
    for (const s of nodeServers) s.closeIdleConnections();
    for (const s of this.rawServers) s.closeIdle();
    for (const socket of this.sniffing) socket.destroy();
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
    for (const s of nodeServers) s.closeAllConnections();
    for (const s of this.rawServers) s.destroyAll();
    for (const session of this.h2Sessions) session.destroy();
    for (const socket of this.tunnels) socket.destroy();
    await Promise.all(closing);
    if (this.mainHttp1 instanceof http.Server) this.mainHttp1.close(() => undefined);
    await this.clusters.close();
    this.env?.pools.close();
    await this.passthroughAgent?.close();
  }

  describeClusters(): ClusterDescription[] {
    return this.clusters.describe();
  }

  /** undici (about 20 MB resident) is loaded only when the node:http path runs. */
  private async chooseEngine(): Promise<void> {
    if (this.opts.http1Engine !== 'node') {
      const llhttp = loadLlhttp();
      if (llhttp.ok) {
        this.engine = 'llhttp';
        this.env = { ...this.deps, binding: llhttp.binding, pools: new UpstreamPools(llhttp.binding, this.clock), logger: this.logger };
        return;
      }
      this.logger.warn('HTTP/1.1 falls back to node:http and undici: the raw-socket path cannot run here', { reason: llhttp.reason });
    }
    this.engine = 'node';
    const undici = await import('undici');
    this.passthroughAgent = new undici.Agent({ headersTimeout: 0, bodyTimeout: 0, connections: 128 });
    this.http1 = new Http1Forwarder({ ...this.deps, logger: this.logger, passthrough: this.passthroughAgent, Pool: undici.Pool });
  }

  private createRawServer(env: Http1Env, route: (head: MessageHead) => RoutedHead, tunnel: (socket: net.Socket, head: MessageHead, rest: Buffer) => void): Http1Server {
    const server = new Http1Server({ env, route, upgrade: tunnel });
    this.rawServers.push(server);
    return server;
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

  private createH2Server(onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void): http2.Http2Server {
    const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
    server.on('session', (s) => {
      this.h2Sessions.add(s);
      s.on('close', () => this.h2Sessions.delete(s));
    });
    server.on('stream', onStream);
    return server;
  }

  private createLocalServer(cluster: string, protocol: UpstreamProtocol): net.Server {
    switch (protocol) {
      case 'tcp':
        return createTcpProxy(this.router, cluster, this.deps, this.logger, this.tunnels);
      case 'http2':
      case 'grpc':
        return this.createH2Server((stream, headers) => this.forwardStream(this.router.cluster(cluster), stream, headers));
      case 'http': {
        const env = this.env;
        if (env !== undefined) {
          const raw = this.createRawServer(
            env,
            (head) => ({ route: this.router.cluster(cluster), target: { path: head.url, authority: rawHeaderValue(head.rawHeaders, 'host'), absolute: false } }),
            (socket, head, rest) => {
              if (head.method === 'CONNECT') return sendRawHttpError(socket, new ProxyError('unknown_service', 'CONNECT is served on the main outbound port, not on an upstream port'));
              this.tunnel(this.router.cluster(cluster), rawTunnelRequest(head, socket), socket, rest, head.url);
            },
          );
          return net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => raw.accept(socket));
        }
        const server = this.createHttpServer((req, res) => this.forwardHttp1(req, res, this.router.cluster(cluster), { path: req.url ?? '/', authority: req.headers.host, absolute: false }));
        server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
          if (!refuseUnlessHttp1(req, socket)) this.tunnel(this.router.cluster(cluster), tunnelRequestOf(req), socket, head, req.url ?? '/');
        });
        return server;
      }
    }
  }

  // ---- the main port ----

  private routeMain(head: MessageHead): RoutedHead {
    const target = parseRequestTarget(head.url, rawHeaderValue(head.rawHeaders, 'host'));
    if (target === undefined) return { route: undeliverable(head.url), target: NO_TARGET };
    return { route: this.router.route(target, 80), target };
  }

  private onMainTunnel(socket: net.Socket, head: MessageHead, rest: Buffer): void {
    const req = rawTunnelRequest(head, socket);
    if (head.method === 'CONNECT') {
      void handleConnect(req, socket, rest, this.router, this.deps, this.logger, this.tunnels);
      return;
    }
    this.onMainUpgrade(req, socket, rest);
  }

  private onMainRequest(req: IncomingMessage, res: ServerResponse): void {
    const target = parseRequestTarget(req.url ?? '/', req.headers.host);
    if (target === undefined) return sendHttpError(res, undeliverable(req.url ?? '').error);
    this.forwardHttp1(req, res, this.router.route(target, 80), target);
  }

  private onMainUpgrade(req: TunnelRequest, socket: Duplex, head: Buffer): void {
    const target = parseRequestTarget(req.url, rawHeaderValue(req.rawHeaders, 'host'));
    if (target === undefined) return sendRawHttpError(socket, new ProxyError('unknown_service', 'cannot tell the destination of the upgrade request'));
    this.tunnel(this.router.route(target, 80), req, socket, head, target.path);
  }

  /** HTTP/2 and gRPC on the main port, routed by :authority as HTTP/1.1 is by Host. */
  private onMainStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const authority = headers[':authority'] ?? headers.host;
    const a = typeof authority === 'string' ? splitAuthority(authority) : undefined;
    if (a === undefined || typeof authority !== 'string') {
      this.forwardStream({ kind: 'error', error: new ProxyError('unknown_service', 'cannot tell the destination of the stream (no :authority)') }, stream, headers);
      return;
    }
    const target: RequestTarget = { host: a.host, port: a.port, path: String(headers[':path'] ?? '/'), authority, absolute: false };
    this.forwardStream(this.router.route(target, 80), stream, headers);
  }

  // ---- forwarding, once routed ----

  /** node:http's requests (the fallback engine). */
  private forwardHttp1(req: IncomingMessage, res: ServerResponse, route: RouteResult | Promise<RouteResult>, target: ExchangeTarget): void {
    const http1 = this.http1!;
    withRoute(route, (r) => {
      switch (r.kind) {
        case 'error':
          return sendHttpError(res, r.error);
        case 'cluster':
          return http1.forward(req, res, { runtime: r.runtime, origin: undefined, path: target.path, authority: target.authority, absolute: target.absolute });
        case 'passthrough':
          return http1.forward(req, res, { runtime: undefined, origin: `http://${hostPort(r.host, r.port)}`, path: target.path, authority: target.authority, absolute: target.absolute });
      }
    });
  }

  private forwardStream(route: RouteResult | Promise<RouteResult>, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    withRoute(route, (r) => {
      if (r.kind === 'cluster') return this.http2.forward(stream, headers, r.runtime);
      if (stream.destroyed || stream.headersSent) return;
      const error = r.kind === 'error' ? r.error : new ProxyError('unknown_service', `host "${r.host}" is not a service in the mesh (HTTP/2 is not passed through)`);
      const ct = headers['content-type'];
      if (typeof ct === 'string' && ct.startsWith('application/grpc')) stream.respond(error.grpcHeaders(), { endStream: true });
      else {
        const body = error.body();
        stream.respond({ ':status': error.httpStatus, ...error.headers(body) });
        stream.end(body);
      }
    });
  }

  /** A WebSocket (or other) upgrade, once routed: a tunnel to one endpoint or the real host. */
  private tunnel(route: RouteResult | Promise<RouteResult>, req: TunnelRequest, socket: Duplex, head: Buffer, path: string): void {
    withRoute(route, (r) => {
      if (r.kind === 'error') return sendRawHttpError(socket, r.error);
      void proxyUpgrade(req, socket, head, r, path, this.deps, this.logger, this.tunnels);
    });
  }
}

function rawTunnelRequest(head: MessageHead, socket: net.Socket): TunnelRequest {
  return { method: head.method, url: head.url, rawHeaders: head.rawHeaders, remoteAddress: socket.remoteAddress };
}

function undeliverable(url: string): { kind: 'error'; error: ProxyError } {
  return { kind: 'error', error: new ProxyError('unknown_service', `cannot tell the destination of "${url}" (no Host header or an unsupported URL)`) };
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
