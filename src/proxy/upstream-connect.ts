/**
 * A TCP connection to one endpoint of a cluster (TCP proxying, CONNECT tunnels, WebSocket
 * upgrades): balanced per connection, guarded by the breaker's `connections`, retried on connect
 * failure on another endpoint. The connection counts as one active call until it closes.
 */
import net from 'node:net';
import type { Clock } from '../common/clock.js';
import type { Endpoint } from '../balancers/endpoint.js';
import { LOCAL_ORIGIN_FAILURE } from '../balancers/call-outcome.js';
import type { PickContext } from '../balancers/picker.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { ProxyError } from './proxy-errors.js';

export interface UpstreamSocket {
  readonly socket: net.Socket;
  readonly endpoint: Endpoint;
  /** Call when the proxied connection is over: reports the outcome and releases the breaker. */
  readonly done: (failed: boolean) => void;
}

const CONNECT_TIMEOUT_MS = 5000;

export async function connectToCluster(runtime: ClusterRuntime, clock: Clock, context?: PickContext): Promise<UpstreamSocket> {
  if (!runtime.breaker.tryAcquire('connections')) {
    throw new ProxyError('overflow', `cluster ${runtime.name}: max_connections reached`, 'connections');
  }
  const tried: string[] = [];
  const maxAttempts = 1 + runtime.config.retry.num_retries;
  let lastError: unknown;
  try {
    for (let i = 0; i < maxAttempts; i++) {
      const endpoint = runtime.pick(context, tried);
      if (endpoint === undefined) throw new ProxyError('no_healthy_upstream', `cluster ${runtime.name}: no healthy endpoint`);
      tried.push(endpoint.id);
      runtime.outlier.onCallStarted(endpoint);
      const started = clock.monotonic();
      try {
        const socket = await dial(endpoint.address, endpoint.port, clock);
        runtime.balancer.onConnectionOpened(endpoint);
        let ended = false;
        const done = (failed: boolean): void => {
          if (ended) return;
          ended = true;
          runtime.balancer.onConnectionClosed(endpoint);
          runtime.outlier.onCallEnded(endpoint, failed ? LOCAL_ORIGIN_FAILURE : 200, clock.monotonic() - started);
          runtime.breaker.release('connections');
        };
        return { socket, endpoint, done };
      } catch (err) {
        runtime.outlier.onCallEnded(endpoint, LOCAL_ORIGIN_FAILURE);
        lastError = err;
      }
    }
  } catch (err) {
    runtime.breaker.release('connections');
    throw err;
  }
  runtime.breaker.release('connections');
  const detail = lastError instanceof Error ? lastError.message : String(lastError);
  throw new ProxyError('upstream_reset', `cluster ${runtime.name}: upstream connect failure (${detail})`);
}

/** A plain TCP connection, or a rejection on error / timeout. */
export function dial(host: string, port: number, clock: Clock): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const timer = clock.setTimeout(() => {
      socket.destroy();
      reject(new ProxyError('timeout', `connect to ${host}:${port} timed out`));
    }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clock.clearTimeout(timer);
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clock.clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Pipes two sockets both ways; `onClose(failed)` once when both are done. `open` holds the pair
 * while it lives, so that stop() can end tunnels whose peers keep them half-open.
 */
export function splice(a: net.Socket, b: net.Socket, onClose: (failed: boolean) => void, open?: Set<net.Socket>): void {
  let failed = false;
  let closed = 0;
  open?.add(a).add(b);
  const close = (): void => {
    if (++closed !== 2) return;
    open?.delete(a);
    open?.delete(b);
    onClose(failed);
  };
  // An error on one side resets the other (RST propagates, as a TCP proxy should).
  a.on('error', () => {
    failed = true;
    b.resetAndDestroy();
  });
  b.on('error', () => {
    failed = true;
    a.resetAndDestroy();
  });
  a.on('close', close);
  b.on('close', close);
  a.pipe(b);
  b.pipe(a);
}
