/**
 * The one call lifecycle every protocol follows (linkerd2-proxy's layers, in the order a call
 * travels): admission by the breaker (`requests` for a request or stream, `connections` for a
 * TCP, CONNECT or WebSocket connection), then tries handed out by the cluster runtime
 * (`startAttempt`: pick avoiding the endpoints already tried, outlier accounting, `pending_requests`),
 * retries through one RetryState, and `finish()` giving back everything the call holds, once.
 */
import type { PickContext } from '../balancers/picker.js';
import type { AttemptHandle } from './attempt-handle.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { ProxyError } from './proxy-errors.js';
import { RetryState, type RetryDeps } from './retry-state.js';

export type AdmissionResource = 'requests' | 'connections';

export class ClusterCall {
  readonly retry: RetryState;
  /** Monotonic ms when the call was admitted (the request log's duration). */
  readonly startedAt: number;
  private finished = false;

  private constructor(
    readonly runtime: ClusterRuntime,
    private readonly resource: AdmissionResource,
    deps: RetryDeps,
  ) {
    this.retry = new RetryState(runtime, deps, resource === 'requests');
    this.startedAt = runtime.clock.monotonic();
  }

  /** Admits a call, or answers `overflow` naming the breaker resource that is full. */
  static start(runtime: ClusterRuntime, resource: AdmissionResource, deps: RetryDeps): ClusterCall | ProxyError {
    if (!runtime.tryAcquire(resource)) {
      const limit = resource === 'requests' ? 'max_requests' : 'max_connections';
      return new ProxyError('overflow', `cluster ${runtime.name}: ${limit} reached`, resource);
    }
    return new ClusterCall(runtime, resource, deps);
  }

  /** The next try: an endpoint this call has not tried yet when there is one (see ClusterRuntime.startAttempt). */
  attempt(context: PickContext | undefined, pending?: Parameters<ClusterRuntime['startAttempt']>[2]): AttemptHandle | ProxyError {
    return this.runtime.startAttempt(context, this.retry.tried, pending);
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Gives back the admission slot and the retry state's; a no-op after the first call. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.retry.finish();
    this.runtime.release(this.resource);
  }
}
