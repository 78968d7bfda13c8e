/**
 * Keep-alive raw sockets to one endpoint (or one passthrough host): idle connections are reused
 * last-in first-out (the warmest socket), at most `maxConnections` are open, and requests beyond
 * that wait in order for one to come back (undici's pool-base pattern). An idle connection is
 * closed after IDLE_TIMEOUT_MS; a connect that fails or takes CONNECT_TIMEOUT_MS fails the oldest
 * waiter, as undici fails the request that made it connect.
 */
import net from 'node:net';
import type { Clock, TimerHandle } from '../../common/clock.js';
import type { DeadlineQueue } from '../../common/deadline-queue.js';
import { ProxyError } from '../proxy-errors.js';
import type { LlhttpBinding } from './llhttp-parser.js';
import { UpstreamConnection, type ConnectionOwner } from './upstream-connection.js';

export const CONNECT_TIMEOUT_MS = 5_000;

/** Told when a connection opens or closes (the balancer's per-endpoint stats). */
export interface PoolObserver {
  opened(): void;
  closed(): void;
}

export type ConnectionWaiter = (result: UpstreamConnection | Error) => void;

export interface UpstreamPoolOptions {
  readonly host: string;
  readonly port: number;
  readonly maxConnections: number;
  readonly binding: LlhttpBinding;
  readonly clock: Clock;
  /** Shared by the pools of a proxy: one timer for every idle connection. */
  readonly idle: DeadlineQueue;
  readonly observer?: PoolObserver | undefined;
}

export class UpstreamPool implements ConnectionOwner {
  private readonly idle: UpstreamConnection[] = [];
  private readonly waiters: ConnectionWaiter[] = [];
  private open = 0;
  private connecting = 0;
  private closed = false;

  constructor(private readonly opts: UpstreamPoolOptions) {}

  /** An idle connection, if there is one (the hot path: nothing is allocated). */
  idleConnection(): UpstreamConnection | undefined {
    const idle = this.idle;
    while (idle.length > 0) {
      const conn = idle.pop()!;
      conn.idleDeadline?.cancel();
      conn.idleDeadline = undefined;
      if (conn.alive) return conn;
    }
    return undefined;
  }

  /** No idle connection: `waiter` gets one (or the connect error) later, in order. */
  wait(waiter: ConnectionWaiter): void {
    if (this.closed) {
      waiter(new ProxyError('upstream_reset', 'the endpoint was removed'));
      return;
    }
    this.waiters.push(waiter);
    if (this.open + this.connecting < this.opts.maxConnections && this.connecting < this.waiters.length) this.connect();
  }

  /** A waiter that no longer wants a connection (its call ended). */
  cancel(waiter: ConnectionWaiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  release(conn: UpstreamConnection): void {
    const next = this.waiters.shift();
    if (next !== undefined) {
      next(conn);
      return;
    }
    if (this.closed) {
      conn.destroy();
      return;
    }
    this.idle.push(conn);
    conn.idleDeadline = this.opts.idle.add(conn.destroy);
  }

  removed(conn: UpstreamConnection): void {
    this.open--;
    this.opts.observer?.closed();
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    conn.idleDeadline?.cancel();
    conn.idleDeadline = undefined;
    // Someone still waits and there is room again.
    if (!this.closed && this.waiters.length > this.connecting && this.open + this.connecting < this.opts.maxConnections) this.connect();
  }

  /** No idle connection is kept; busy ones close when their exchange ends. */
  close(): void {
    this.closed = true;
    for (const conn of this.idle.splice(0)) {
      conn.idleDeadline?.cancel();
      conn.destroy();
    }
    const err = new ProxyError('upstream_reset', 'the endpoint was removed');
    for (const w of this.waiters.splice(0)) w(err);
  }

  get size(): number {
    return this.open;
  }

  private connect(): void {
    const { host, port, clock } = this.opts;
    this.connecting++;
    const socket = net.connect({ host, port, noDelay: true });
    let timer: TimerHandle | undefined = clock.setTimeout(() => {
      timer = undefined;
      socket.destroy(Object.assign(new Error(`connect to ${host}:${port} timed out after ${CONNECT_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' }));
    }, CONNECT_TIMEOUT_MS);
    const onError = (err: Error): void => {
      clock.clearTimeout(timer);
      this.connecting--;
      socket.destroy();
      this.waiters.shift()?.(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clock.clearTimeout(timer);
      socket.off('error', onError);
      this.connecting--;
      this.open++;
      this.opts.observer?.opened();
      const conn = new UpstreamConnection(socket, this.opts.binding, this);
      this.release(conn);
    });
  }
}
