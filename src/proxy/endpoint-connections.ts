/**
 * The upstream connections of one endpoint, created on first use and kept for the endpoint's
 * life: a pool of raw HTTP/1.1 sockets (the llhttp path), an undici Pool (HTTP/1.1 on the
 * node:http path) and one HTTP/2 session (requests are multiplexed as streams, so balancing
 * stays per request). Built once per endpoint, never per request.
 */
import http2 from 'node:http2';
import type { Pool } from 'undici';
import type { Endpoint } from '../balancers/endpoint.js';
import { hostKey } from '../balancers/endpoint.js';
import type { PoolObserver, UpstreamPool } from './http1/upstream-pool.js';

/** Builds the endpoint's raw HTTP/1.1 pool (the raw path knows how; the endpoint only keeps it). */
export type RawPoolFactory = (endpoint: Endpoint, maxConnections: number, observer: PoolObserver) => UpstreamPool;

export interface ConnectionObserver {
  opened(endpoint: Endpoint): void;
  closed(endpoint: Endpoint): void;
}

/**
 * Keep-alive connections per endpoint at most, whatever the cluster's `max_connections`; past the
 * pool's size requests queue in the pool (they are "pending" for the breaker).
 */
export const MAX_POOL_CONNECTIONS = 128;

export class EndpointConnections {
  readonly origin: string;
  private pool: Pool | undefined;
  private rawPool: UpstreamPool | undefined;
  private session: http2.ClientHttp2Session | undefined;
  private closed = false;

  constructor(
    readonly endpoint: Endpoint,
    private readonly observer: ConnectionObserver,
    /** Size of the HTTP/1.1 pool: the cluster's `max_connections`, capped. */
    readonly poolSize: number = MAX_POOL_CONNECTIONS,
  ) {
    this.origin = `http://${hostKey(endpoint)}`;
  }

  raw(create: RawPoolFactory): UpstreamPool {
    if (this.rawPool !== undefined) return this.rawPool;
    this.rawPool = create(this.endpoint, Math.min(this.poolSize, MAX_POOL_CONNECTIONS), {
      opened: () => this.observer.opened(this.endpoint),
      closed: () => this.observer.closed(this.endpoint),
    });
    return this.rawPool;
  }

  /** The undici pool of the node:http path (undici is loaded only when that path runs: `PoolClass`). */
  http1(PoolClass: typeof Pool): Pool {
    if (this.pool !== undefined) return this.pool;
    const pool = new PoolClass(this.origin, {
      connections: Math.min(this.poolSize, MAX_POOL_CONNECTIONS),
      pipelining: 1,
      // Timeouts are the proxy's (overall, per try); undici's own would fire on long streams.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
      connectTimeout: 5_000,
    });
    pool.on('connect', () => this.observer.opened(this.endpoint));
    pool.on('disconnect', () => this.observer.closed(this.endpoint));
    this.pool = pool;
    return pool;
  }

  /** A live HTTP/2 (cleartext) session, reconnecting when the previous one went away. */
  http2(): http2.ClientHttp2Session {
    const s = this.session;
    if (s !== undefined && !s.closed && !s.destroyed) return s;
    const session = http2.connect(this.origin);
    let opened = false;
    session.on('connect', () => {
      opened = true;
      this.observer.opened(this.endpoint);
    });
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
      if (opened) this.observer.closed(this.endpoint);
    });
    // Errors surface on the streams; an unhandled 'error' on the session would crash the process.
    session.on('error', () => undefined);
    session.on('goaway', () => {
      if (this.session === session) this.session = undefined;
    });
    session.unref();
    this.session = session;
    return session;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    this.rawPool?.close();
    if (session !== undefined && !session.destroyed) await new Promise<void>((resolve) => session.close(resolve));
    if (this.pool !== undefined) await this.pool.close();
  }

  /** Immediate teardown (endpoint removed while requests were in flight there). */
  destroy(): void {
    this.closed = true;
    this.rawPool?.close();
    this.session?.destroy();
    this.session = undefined;
    void this.pool?.destroy().catch(() => undefined);
  }
}
