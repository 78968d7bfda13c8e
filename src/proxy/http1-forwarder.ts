/**
 * HTTP/1.1 forwarding: one ProxyCall per downstream request, one Attempt per upstream try.
 * Attempts go through the endpoint's undici Pool with a streaming dispatch handler (the fastest
 * path measured: no intermediate Readable, backpressure through the dispatch controller).
 *
 * The order a request travels: breaker (requests) → pick → dispatch → response headers
 * (a retriable status is dropped and retried elsewhere) → body streamed both ways → outcome
 * reported to the balancer (outlier detection counts it) → breaker released.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Agent } from 'undici';
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Deadline } from '../common/deadline-queue.js';
import type { Logger } from '../common/logger.js';
import type { Endpoint } from '../balancers/endpoint.js';
import { LOCAL_ORIGIN_FAILURE } from '../balancers/call-outcome.js';
import type { PickContext, RandomSource } from '../balancers/picker.js';
import { codeClass, type ProxyMetrics } from '../metrics/proxy-metrics.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './hop-headers.js';
import { ProxyError } from './proxy-errors.js';
import { REPLAY_BUFFER_LIMIT, failureCause, isIdempotent, retriableFailure, retriableStatus, retryBackoffMs, type FailureCause } from './retry-policy.js';
import { sendHttpError } from './send-error.js';

export interface Http1Deps {
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics | undefined;
  /** Connection pools to hosts outside the mesh (passthrough). */
  readonly passthrough: Agent;
}

/** Where a request goes: a mesh cluster, or (passthrough) a real origin `http://host:port`. */
export interface Http1Route {
  readonly runtime: ClusterRuntime | undefined;
  readonly origin: string | undefined;
  readonly path: string;
  readonly authority: string | undefined;
  /** Absolute-form (forward proxy) request: Host is rewritten to the authority. */
  readonly absolute: boolean;
}

export class Http1Forwarder {
  constructor(private readonly deps: Http1Deps) {}

  forward(req: IncomingMessage, res: ServerResponse, route: Http1Route): void {
    new ProxyCall(this.deps, req, res, route).start();
  }
}

class ProxyCall {
  private readonly runtime: ClusterRuntime | undefined;
  private readonly headers: string[];
  private readonly hasBody: boolean;
  private readonly replayable: boolean;
  /** A small body of an idempotent request, read whole before the first try so a retry can resend it. */
  private body: Buffer | undefined;
  private readonly buffersBody: boolean;
  private readonly clusterName: string;
  private attempt: Attempt | undefined;
  private retries = 0;
  private tried: string[] | undefined;
  private committed = false;
  private done = false;
  private holdsRequest = false;
  private holdsRetry = false;
  private corked = false;
  private overallDeadline: Deadline | undefined;
  private retryTimer: TimerHandle | undefined;
  private context: PickContext | undefined;

  constructor(
    private readonly deps: Http1Deps,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly route: Http1Route,
  ) {
    this.runtime = route.runtime;
    this.clusterName = route.runtime?.name ?? 'passthrough';
    const h = req.headers;
    this.hasBody = h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
    const idempotent = isIdempotent(req.method ?? 'GET');
    // Only a body of known, small length is kept (Envoy buffers for retries too); a chunked or
    // large one is streamed, and then the request is not retried.
    this.buffersBody = idempotent && this.hasBody && h['transfer-encoding'] === undefined && Number(h['content-length']) <= REPLAY_BUFFER_LIMIT;
    this.replayable = idempotent && (!this.hasBody || this.buffersBody);
    this.headers = upstreamRequestHeaders(req.rawHeaders, h.connection, {
      remoteAddress: req.socket.remoteAddress,
      proto: 'http',
      host: route.authority,
      replaceHost: route.absolute,
    });
  }

  start(): void {
    const runtime = this.runtime;
    if (runtime !== undefined && !runtime.breaker.tryAcquire('requests')) {
      this.fail(new ProxyError('overflow', `cluster ${runtime.name}: max_requests reached`, 'requests'));
      return;
    }
    this.holdsRequest = runtime !== undefined;
    this.res.once('close', this.onDownstreamClose);
    this.overallDeadline = runtime?.requestDeadlines?.add(this.onOverallTimeout);
    if (!this.buffersBody || runtime === undefined) {
      this.send();
      return;
    }
    const chunks: Buffer[] = [];
    this.req.on('data', (chunk: Buffer) => chunks.push(chunk));
    this.req.once('end', () => {
      this.body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      this.send();
    });
  }

  private send(): void {
    this.retryTimer = undefined;
    if (this.done) return;
    const runtime = this.runtime;
    let endpoint: Endpoint | undefined;
    let dispatcher: Dispatcher;
    let origin: string | undefined;
    if (runtime !== undefined) {
      endpoint = runtime.pick(this.pickContext(), this.tried);
      if (endpoint === undefined) {
        this.fail(new ProxyError('no_healthy_upstream', `cluster ${runtime.name}: no healthy endpoint`));
        return;
      }
      // Pending (Envoy): from dispatch until the request is written on a connection.
      if (!runtime.breaker.tryAcquire('pending_requests')) {
        this.fail(new ProxyError('overflow', `cluster ${runtime.name}: max_pending_requests reached`, 'pending_requests'));
        return;
      }
      (this.tried ??= []).push(endpoint.id);
      runtime.outlier.onCallStarted(endpoint);
      dispatcher = runtime.connectionsOf(endpoint).http1();
    } else {
      dispatcher = this.deps.passthrough;
      origin = this.route.origin;
    }
    const attempt = new Attempt(this, endpoint, this.deps.clock.monotonic());
    this.attempt = attempt;
    if (runtime !== undefined) attempt.pending = runtime;
    const perTry = runtime?.perTryDeadlines;
    if (perTry !== undefined) attempt.deadline = perTry.add(() => this.onAttemptTimeout(attempt));
    try {
      dispatcher.dispatch(
        {
          origin,
          path: this.route.path,
          method: this.req.method as Dispatcher.HttpMethod,
          headers: this.headers,
          body: this.body ?? (this.hasBody ? this.req : null),
          idempotent: false, // the proxy decides on retries, not undici
          headersTimeout: 0,
          bodyTimeout: 0,
        },
        attempt,
      );
    } catch (err) {
      this.onAttemptError(attempt, err);
    }
  }

  /** Lazily: most policies never read the context. */
  private pickContext(): PickContext {
    if (this.context !== undefined) return this.context;
    const headers = this.req.headers;
    this.context = {
      header: (name) => {
        const v = headers[name];
        return Array.isArray(v) ? v[0] : v;
      },
      sourceIp: this.req.socket.remoteAddress,
      path: this.route.path,
    };
    return this.context;
  }

  onResponseStart(attempt: Attempt, status: number, headers: IncomingHttpHeaders, message: string | undefined): void {
    if (attempt !== this.attempt || this.done) {
      attempt.abort();
      return;
    }
    if (status < 200) return; // 1xx: Node answers Expect itself; other informational responses are dropped
    attempt.status = status;
    if (this.runtime !== undefined && !this.committed && retriableStatus(this.runtime.config.retry, status) && this.mayRetry()) {
      this.drop(attempt, status);
      this.retry();
      return;
    }
    this.committed = true;
    // A flat [name, value, ...] list: writeHead takes it as is, without a setHeader per header.
    this.res.writeHead(status, message === '' ? undefined : message, downstreamResponseHeaders(headers));
  }

  onResponseData(attempt: Attempt, chunk: Buffer): void {
    if (attempt !== this.attempt || this.done) return;
    if (!this.corked) {
      // Head, body and end parsed from one upstream read leave in one writev, not two or three.
      this.corked = true;
      this.res.cork();
      process.nextTick(uncork, this.res);
    }
    if (!this.res.write(chunk)) {
      attempt.controller?.pause();
      this.res.once('drain', attempt.resume);
    }
  }

  onResponseEnd(attempt: Attempt, trailers: IncomingHttpHeaders): void {
    if (attempt !== this.attempt || this.done) return;
    attempt.end(attempt.status);
    for (const _ in trailers) {
      this.res.addTrailers(trailers as Record<string, string>);
      break;
    }
    this.res.end();
    this.finish(attempt.status);
  }

  onAttemptError(attempt: Attempt, err: unknown): void {
    if (attempt !== this.attempt || this.done) {
      attempt.end(LOCAL_ORIGIN_FAILURE);
      return;
    }
    attempt.end(LOCAL_ORIGIN_FAILURE);
    const cause = attempt.timedOut ? 'timeout' : failureCause(err);
    if (!this.committed && this.runtime !== undefined && retriableFailure(this.runtime.config.retry, cause) && this.mayRetry()) {
      this.retry();
      return;
    }
    this.fail(errorFor(cause, this.clusterName, err));
  }

  private onAttemptTimeout(attempt: Attempt): void {
    attempt.deadline = undefined;
    if (attempt !== this.attempt || this.done) return;
    attempt.timedOut = true;
    // The controller's abort reports through onResponseError → onAttemptError (cause: timeout).
    if (!attempt.abort(new ProxyError('timeout', 'per-try timeout'))) this.onAttemptError(attempt, new ProxyError('timeout', 'per-try timeout'));
  }

  private readonly onOverallTimeout = (): void => {
    this.overallDeadline = undefined;
    if (this.done) return;
    if (this.attempt !== undefined) this.drop(this.attempt, 504);
    this.fail(new ProxyError('timeout', `cluster ${this.clusterName}: no complete response within ${this.runtime?.timeoutMs ?? 0} ms`));
  };

  private readonly onDownstreamClose = (): void => {
    if (this.done) return;
    // The client went away: not the endpoint's fault (499 is not a failure for outlier detection).
    if (this.attempt !== undefined) this.drop(this.attempt, 499);
    this.finish(499);
  };

  /**
   * A retrying call holds one `retries` slot of the breaker from its first retry to its end, so
   * the budget bounds how many calls retry at once (Envoy's semantics): when every endpoint
   * fails, the calls beyond the budget fail at once instead of multiplying the load.
   */
  /** Abandons the current attempt: detached first, so that its abort callback is ignored. */
  private drop(attempt: Attempt, status: number): void {
    this.attempt = undefined;
    attempt.end(status);
    attempt.abort();
  }

  private mayRetry(): boolean {
    const runtime = this.runtime!;
    if (!this.replayable || this.retries >= runtime.config.retry.num_retries) return false;
    if (this.holdsRetry) return true;
    this.holdsRetry = runtime.breaker.tryAcquire('retries');
    return this.holdsRetry;
  }

  private retry(): void {
    this.retries++;
    const runtime = this.runtime!;
    this.deps.metrics?.retries.inc({ cluster: runtime.name });
    this.attempt = undefined;
    this.retryTimer = this.deps.clock.setTimeout(this.sendRetry, retryBackoffMs(this.retries - 1, this.deps.random));
  }

  private readonly sendRetry = (): void => {
    this.send();
  };

  private fail(error: ProxyError): void {
    if (this.done) return;
    this.deps.metrics?.errors.inc({ cluster: this.clusterName, cause: error.code });
    if (this.committed || this.res.headersSent) {
      // Too late for an error response: reset the downstream so the client sees the failure.
      this.res.destroy();
      this.finish(LOCAL_ORIGIN_FAILURE);
      return;
    }
    sendHttpError(this.res, error);
    this.finish(error.httpStatus);
  }

  private finish(status: number): void {
    if (this.done) return;
    this.done = true;
    this.overallDeadline?.cancel();
    this.deps.clock.clearTimeout(this.retryTimer);
    if (this.holdsRetry) this.runtime!.breaker.release('retries');
    this.attempt?.deadline?.cancel();
    if (this.holdsRequest) this.runtime!.breaker.release('requests');
    this.res.off('close', this.onDownstreamClose);
    const metrics = this.deps.metrics;
    if (metrics === undefined) return;
    if (this.runtime !== undefined) this.runtime.requestCounters?.inc('http', status);
    else metrics.requests.inc({ cluster: this.clusterName, protocol: 'http', code_class: status === LOCAL_ORIGIN_FAILURE ? '5xx' : codeClass(status) });
  }

  get clock(): Clock {
    return this.deps.clock;
  }

  get cluster(): ClusterRuntime | undefined {
    return this.runtime;
  }
}

/** One upstream try; its callbacks are ignored once the call has moved on (retry, timeout). */
class Attempt implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | undefined;
  /** The per-try timeout, when the cluster has one. */
  deadline: Deadline | undefined;
  status = 0;
  timedOut = false;
  /** Set while the attempt holds the cluster's `pending_requests`. */
  pending: ClusterRuntime | undefined;
  private ended = false;
  private aborted: Error | undefined;

  constructor(
    private readonly call: ProxyCall,
    private readonly endpoint: Endpoint | undefined,
    private readonly startedAt: number,
  ) {}

  readonly resume = (): void => {
    this.controller?.resume();
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.releasePending();
    if (this.aborted !== undefined) controller.abort(this.aborted);
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, message?: string): void {
    this.call.onResponseStart(this, status, headers, message);
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.call.onResponseData(this, chunk);
  }

  onResponseEnd(_c: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.call.onResponseEnd(this, trailers);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.call.onAttemptError(this, err);
  }

  /** Aborts the upstream request; false when it had not started (it is aborted when it does). */
  abort(reason: Error = new Error('proxy call ended')): boolean {
    if (this.aborted !== undefined) return this.controller !== undefined;
    this.aborted = reason;
    if (this.controller === undefined || this.controller.aborted) return false;
    this.controller.abort(reason);
    return true;
  }

  releasePending(): void {
    if (this.pending === undefined) return;
    this.pending.breaker.release('pending_requests');
    this.pending = undefined;
  }

  /** Reports the outcome to the balancer, once. */
  end(status: number): void {
    this.releasePending();
    if (this.ended) return;
    this.ended = true;
    const clock = this.call.clock;
    if (this.deadline !== undefined) {
      this.deadline.cancel();
      this.deadline = undefined;
    }
    const runtime = this.call.cluster;
    if (runtime === undefined || this.endpoint === undefined) return;
    runtime.outlier.onCallEnded(this.endpoint, status, status === LOCAL_ORIGIN_FAILURE ? undefined : clock.monotonic() - this.startedAt);
  }
}

function uncork(res: ServerResponse): void {
  res.uncork();
}

function errorFor(cause: FailureCause, cluster: string, err: unknown): ProxyError {
  const detail = err instanceof Error ? err.message : String(err);
  switch (cause) {
    case 'timeout':
      return new ProxyError('timeout', `cluster ${cluster}: per-try timeout expired`);
    case 'connect-failure':
      return new ProxyError('upstream_reset', `cluster ${cluster}: upstream connect failure (${detail})`);
    case 'reset':
      return new ProxyError('upstream_reset', `cluster ${cluster}: upstream connection reset before a complete response (${detail})`);
  }
}
