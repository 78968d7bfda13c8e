/**
 * Keep-alive raw sockets to one endpoint (or one passthrough host): idle connections are reused
 * last-in first-out (the warmest socket), at most `maxConnections` are open, and requests beyond
 * that wait in order for one to come back (undici's pool-base pattern). An idle connection is
 * closed after IDLE_TIMEOUT_MS; a connect that fails or takes CONNECT_TIMEOUT_MS fails the oldest
 * waiter, as undici fails the request that made it connect.
 */
import net from 'node:net';
import type { Clock, TimerHandle } from '../../common/clock.js';
import type { Deadline, DeadlineQueue } from '../../common/deadline-queue.js';
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
  private readonly idleDeadlines = new Map<UpstreamConnection, Deadline>();
  private readonly waiters: ConnectionWaiter[] = [];
  private open = 0;
  private connecting = 0;
  private closed = false;

  constructor(private readonly opts: UpstreamPoolOptions) {}

  /** An idle connection now, or undefined: then `waiter` gets one (or the connect error) later. */
  acquire(waiter: ConnectionWaiter): UpstreamConnection | undefined {
    const idle = this.idle;
    while (idle.length > 0) {
      const conn = idle.pop()!;
      this.idleDeadlines.get(conn)?.cancel();
      this.idleDeadlines.delete(conn);
      if (conn.alive) return conn;
    }
    if (this.closed) {
      waiter(new ProxyError('upstream_reset', 'the endpoint was removed'));
      return undefined;
    }
    this.waiters.push(waiter);
    if (this.open + this.connecting < this.opts.maxConnections && this.connecting < this.waiters.length) this.connect();
    return undefined;
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
    this.idleDeadlines.set(
      conn,
      this.opts.idle.add(() => {
        this.idleDeadlines.delete(conn);
        conn.destroy();
      }),
    );
  }

  removed(conn: UpstreamConnection): void {
    this.open--;
    this.opts.observer?.closed();
    const i = this.idle.indexOf(conn);
    if (i >= 0) {
      this.idle.splice(i, 1);
      this.idleDeadlines.get(conn)?.cancel();
      this.idleDeadlines.delete(conn);
    }
    // Someone still waits and there is room again.
    if (!this.closed && this.waiters.length > this.connecting && this.open + this.connecting < this.opts.maxConnections) this.connect();
  }

  /** No idle connection is kept; busy ones close when their exchange ends. */
  close(): void {
    this.closed = true;
    for (const conn of this.idle.splice(0)) conn.destroy();
    for (const d of this.idleDeadlines.values()) d.cancel();
    this.idleDeadlines.clear();
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
