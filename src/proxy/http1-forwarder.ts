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
import type { Agent, Dispatcher, Pool } from 'undici';
import type { Clock } from '../common/clock.js';
import type { Deadline } from '../common/deadline-queue.js';
import type { Logger } from '../common/logger.js';
import { LOCAL_ORIGIN_FAILURE } from '../balancers/call-outcome.js';
import type { PickContext, RandomSource } from '../balancers/picker.js';
import { codeClass, type ProxyMetrics } from '../metrics/proxy-metrics.js';
import type { AttemptHandle } from './attempt-handle.js';
import { ClusterCall } from './cluster-call.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './hop-headers.js';
import { ProxyError } from './proxy-errors.js';
import { ReplayBody } from './replay-body.js';
import { REPLAY_BUFFER_LIMIT, failureCause, failureError, isIdempotent, retriableFailure, retriableStatus } from './retry-policy.js';
import { sendHttpError } from './send-error.js';

export interface Http1Deps {
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics | undefined;
  /** Connection pools to hosts outside the mesh (passthrough). */
  readonly passthrough: Agent;
  /** undici's Pool, loaded with this path. */
  readonly Pool: typeof Pool;
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
  private readonly replay: ReplayBody | undefined;
  private body: Buffer | undefined;
  private readonly clusterName: string;
  private call: ClusterCall | undefined;
  private attempt: Attempt | undefined;
  private committed = false;
  private done = false;
  private corked = false;
  private overallDeadline: Deadline | undefined;
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
    const buffersBody = idempotent && this.hasBody && h['transfer-encoding'] === undefined && Number(h['content-length']) <= REPLAY_BUFFER_LIMIT;
    this.replay = buffersBody ? new ReplayBody() : undefined;
    this.replayable = idempotent && (!this.hasBody || buffersBody);
    this.headers = upstreamRequestHeaders(req.rawHeaders, h.connection, {
      remoteAddress: req.socket.remoteAddress,
      proto: 'http',
      host: route.authority,
      replaceHost: route.absolute,
    });
  }

  start(): void {
    const runtime = this.runtime;
    if (runtime !== undefined) {
      const call = ClusterCall.start(runtime, 'requests', this.deps);
      if (call instanceof ProxyError) {
        this.fail(call);
        return;
      }
      this.call = call;
    }
    this.res.once('close', this.onDownstreamClose);
    this.overallDeadline = runtime?.requestDeadline(this.onOverallTimeout);
    const replay = this.replay;
    if (replay === undefined || runtime === undefined) {
      this.send();
      return;
    }
    this.req.on('data', (chunk: Buffer) => replay.push(chunk));
    this.req.once('end', () => {
      this.body = replay.whole();
      this.send();
    });
  }

  private send(): void {
    if (this.done) return;
    const runtime = this.runtime;
    let handle: AttemptHandle | undefined;
    let dispatcher: Dispatcher;
    let origin: string | undefined;
    if (runtime !== undefined) {
      // Pending (Envoy): from dispatch until the request is written on a connection.
      const attempt = this.call!.attempt(this.pickContext(), true);
      if (attempt instanceof ProxyError) {
        this.fail(attempt);
        return;
      }
      handle = attempt;
      dispatcher = attempt.connections.http1(this.deps.Pool);
    } else {
      dispatcher = this.deps.passthrough;
      origin = this.route.origin;
    }
    const attempt = new Attempt(this, handle);
    this.attempt = attempt;
    if (runtime !== undefined) attempt.deadline = runtime.perTryDeadline(() => this.onAttemptTimeout(attempt));
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
    if (this.runtime !== undefined && !this.committed && retriableStatus(this.runtime.retryPolicy, status) && this.call!.retry.may(this.replayable)) {
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
    attempt.end(LOCAL_ORIGIN_FAILURE);
    if (attempt !== this.attempt || this.done) return;
    const cause = attempt.timedOut ? 'timeout' : failureCause(err);
    if (!this.committed && this.runtime !== undefined && retriableFailure(this.runtime.retryPolicy, cause) && this.call!.retry.may(this.replayable)) {
      this.retry();
      return;
    }
    this.fail(failureError(cause, this.clusterName, err));
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

  /** Abandons the current attempt: detached first, so that its abort callback is ignored. */
  private drop(attempt: Attempt, status: number): void {
    this.attempt = undefined;
    attempt.end(status);
    attempt.abort();
  }

  private retry(): void {
    this.attempt = undefined;
    this.call!.retry.schedule(this.sendRetry);
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
    this.attempt?.deadline?.cancel();
    this.call?.finish();
    this.res.off('close', this.onDownstreamClose);
    if (this.runtime !== undefined) this.runtime.finishRequest('http', status, this.call, this.req.method ?? 'GET', this.route.authority ?? '', this.route.path);
    else this.deps.metrics?.requests.inc({ cluster: this.clusterName, protocol: 'http', code_class: status === LOCAL_ORIGIN_FAILURE ? '5xx' : codeClass(status) });
  }
}

/** One upstream try as undici's dispatch handler; its callbacks are ignored once the call has moved on (retry, timeout). */
class Attempt implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | undefined;
  /** The per-try timeout, when the cluster has one. */
  deadline: Deadline | undefined;
  status = 0;
  timedOut = false;
  private aborted: Error | undefined;

  constructor(
    private readonly call: ProxyCall,
    /** The cluster's try (undefined for passthrough). */
    private readonly handle: AttemptHandle | undefined,
  ) {}

  readonly resume = (): void => {
    this.controller?.resume();
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.handle?.releasePending();
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

  /** Reports the outcome to the balancer, once. */
  end(status: number): void {
    if (this.deadline !== undefined) {
      this.deadline.cancel();
      this.deadline = undefined;
    }
    this.handle?.end(status);
  }
}

function uncork(res: ServerResponse): void {
  res.uncork();
}
