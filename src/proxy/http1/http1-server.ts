/**
 * The raw-socket HTTP/1.1 server behind a listener (the main outbound port or a per-upstream
 * port): it owns the client connections, makes an exchange for each request head with the
 * listener's routing, and hands upgrades and CONNECT to the tunnel handlers.
 */
import type net from 'node:net';
import { DeadlineQueue } from '../../common/deadline-queue.js';
import type { RouteResult } from '../http-router.js';
import { DownstreamConnection, KEEP_ALIVE_TIMEOUT_MS, type DownstreamExchange, type DownstreamHost } from './downstream-connection.js';
import type { Http1Env } from './http1-env.js';
import type { LlhttpBinding, MessageHead } from './llhttp-parser.js';
import { ProxyExchange, type ExchangeTarget } from './proxy-exchange.js';

export interface RoutedHead {
  readonly route: RouteResult | Promise<RouteResult>;
  readonly target: ExchangeTarget;
}

export interface Http1ServerOptions {
  readonly env: Http1Env;
  /** Where a request goes (synchronous for a cluster in use, the hot path). */
  readonly route: (head: MessageHead) => RoutedHead;
  /** An upgrade or CONNECT, with the bytes read after its head. */
  readonly upgrade: (socket: net.Socket, head: MessageHead, rest: Buffer) => void;
}

export class Http1Server implements DownstreamHost {
  readonly binding: LlhttpBinding;
  readonly idle: DeadlineQueue;
  private readonly connections = new Set<DownstreamConnection>();

  constructor(private readonly opts: Http1ServerOptions) {
    this.binding = opts.env.binding;
    this.idle = new DeadlineQueue(opts.env.clock, KEEP_ALIVE_TIMEOUT_MS);
  }

  /** A client connection, with any bytes already read from it. */
  accept(socket: net.Socket, first?: Buffer): void {
    socket.setNoDelay(true);
    const conn = new DownstreamConnection(socket, this);
    this.connections.add(conn);
    if (first !== undefined && first.length > 0) conn.feed(first);
  }

  exchange(conn: DownstreamConnection, head: MessageHead): DownstreamExchange {
    const ex = new ProxyExchange(this.opts.env, conn, head);
    const { route, target } = this.opts.route(head);
    if (!(route instanceof Promise)) ex.setRoute(route, target);
    else void route.then((r) => ex.resolveRoute(r, target));
    return ex;
  }

  upgrade(socket: net.Socket, head: MessageHead, rest: Buffer): void {
    for (const conn of this.connections) {
      if (conn.socket === socket) {
        this.connections.delete(conn);
        break;
      }
    }
    this.opts.upgrade(socket, head, rest);
  }

  closed(conn: DownstreamConnection): void {
    this.connections.delete(conn);
  }

  /** Stopping: idle connections close now, busy ones after their current exchange. */
  closeIdle(): void {
    for (const conn of this.connections) conn.closeWhenIdle();
  }

  destroyAll(): void {
    for (const conn of this.connections) conn.destroy();
  }

  get size(): number {
    return this.connections.size;
  }
}
