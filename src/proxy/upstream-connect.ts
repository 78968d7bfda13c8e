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
import { ClusterCall } from './cluster-call.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { ProxyError } from './proxy-errors.js';
import type { RetryDeps } from './retry-state.js';

export interface UpstreamSocket {
  readonly socket: net.Socket;
  readonly endpoint: Endpoint;
  /** Call when the proxied connection is over: reports the outcome and releases the breaker. */
  readonly done: (failed: boolean) => void;
}

const CONNECT_TIMEOUT_MS = 5000;

/** The same call lifecycle as a request, admitted on `connections`; a connect failure tries another endpoint. */
export async function connectToCluster(runtime: ClusterRuntime, deps: RetryDeps, context?: PickContext): Promise<UpstreamSocket> {
  const call = ClusterCall.start(runtime, 'connections', deps);
  if (call instanceof ProxyError) throw call;
  let lastError: unknown;
  for (;;) {
    const attempt = call.attempt(context);
    if (attempt instanceof ProxyError) {
      call.finish();
      throw attempt;
    }
    try {
      const socket = await dial(attempt.endpoint.address, attempt.endpoint.port, deps.clock);
      attempt.connectionOpened();
      const done = (failed: boolean): void => {
        if (attempt.isEnded) return;
        attempt.end(failed ? LOCAL_ORIGIN_FAILURE : 200);
        call.finish();
      };
      return { socket, endpoint: attempt.endpoint, done };
    } catch (err) {
      attempt.end(LOCAL_ORIGIN_FAILURE);
      lastError = err;
    }
    // Nothing was sent yet: a connection is always replayable.
    if (!call.retry.may(true)) break;
    call.retry.count();
  }
  call.finish();
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
