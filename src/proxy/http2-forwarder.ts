/**
 * HTTP/2 and gRPC forwarding, balanced per request (per stream), not per connection: each
 * downstream stream picks an endpoint and opens a stream on that endpoint's pooled session.
 * Trailers pass through (gRPC status lives there), trailers-only responses stay trailers-only,
 * RST_STREAM travels both ways, and a gRPC deadline (`grpc-timeout`) bounds the call.
 *
 * The request body is kept in memory while it is small (REPLAY_BUFFER_LIMIT) so that a failed attempt
 * (refused, reset, gRPC UNAVAILABLE before any response) can be replayed on another endpoint.
 */
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream, type ClientHttp2Stream } from 'node:http2';
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Deadline } from '../common/deadline-queue.js';
import type { Logger } from '../common/logger.js';
import type { Endpoint } from '../balancers/endpoint.js';
import { LOCAL_ORIGIN_FAILURE, httpStatusForGrpc } from '../balancers/call-outcome.js';
import type { RandomSource } from '../balancers/picker.js';
import type { ProxyMetrics } from '../metrics/proxy-metrics.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { isHopByHop } from './hop-headers.js';
import { ProxyError } from './proxy-errors.js';
import { parseGrpcTimeout, shorterTimeout } from './request-timeouts.js';
import { REPLAY_BUFFER_LIMIT, isIdempotent, retriableFailure, retriableGrpcStatus, retriableStatus, retryBackoffMs } from './retry-policy.js';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

export interface Http2Deps {
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics | undefined;
}

export class Http2Forwarder {
  constructor(private readonly deps: Http2Deps) {}

  forward(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, runtime: ClusterRuntime): void {
    new H2Call(this.deps, stream, headers, runtime).start();
  }
}

class H2Call {
  private readonly grpc: boolean;
  private readonly requestHeaders: OutgoingHttpHeaders;
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private replayable: boolean;
  private downstreamEnded = false;
  private upstream: ClientHttp2Stream | undefined;
  private endpoint: Endpoint | undefined;
  private attemptStarted = 0;
  private attemptEnded = true;
  private tried: string[] = [];
  private retries = 0;
  private holdsRetry = false;
  /** True while a stream waits for its endpoint's session to connect (Envoy's "pending"). */
  private holdsPending = false;
  private committed = false;
  private done = false;
  private trailers: IncomingHttpHeaders | undefined;
  private status = 0;
  /** The cluster's timeout (a queue shared by the cluster's calls) or a shorter gRPC deadline (a timer). */
  private deadline: Deadline | undefined;
  private timer: TimerHandle | undefined;
  private perTryDeadline: Deadline | undefined;
  private retryTimer: TimerHandle | undefined;

  constructor(
    private readonly deps: Http2Deps,
    private readonly downstream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    private readonly runtime: ClusterRuntime,
  ) {
    const ct = headers['content-type'];
    this.grpc = typeof ct === 'string' && ct.startsWith('application/grpc');
    this.replayable = this.grpc || isIdempotent(String(headers[':method'] ?? 'GET'));
    const out: OutgoingHttpHeaders = {};
    for (const name in headers) {
      if (isHopByHop(name) && name !== 'te') continue;
      out[name] = headers[name];
    }
    const peer = downstream.session?.socket?.remoteAddress;
    const xff = headers['x-forwarded-for'];
    if (peer !== undefined) out['x-forwarded-for'] = xff === undefined ? peer : `${String(xff)}, ${peer}`;
    if (out['x-forwarded-proto'] === undefined) out['x-forwarded-proto'] = 'http';
    this.requestHeaders = out;
    const timeout = shorterTimeout(runtime.timeoutMs, this.grpc ? parseGrpcTimeout(headers['grpc-timeout']) : undefined);
    if (timeout > 0 && timeout === runtime.timeoutMs) this.deadline = runtime.requestDeadlines?.add(this.onTimeout);
    else if (timeout > 0) this.timer = deps.clock.setTimeout(this.onTimeout, timeout);
  }

  start(): void {
    const runtime = this.runtime;
    const down = this.downstream;
    down.on('error', () => undefined);
    down.on('close', this.onDownstreamClose);
    if (!runtime.breaker.tryAcquire('requests')) {
      this.fail(new ProxyError('overflow', `cluster ${runtime.name}: max_requests reached`, 'requests'), false);
      return;
    }
    down.on('data', (chunk: Buffer) => {
      if (this.replayable) {
        this.buffered += chunk.length;
        if (this.buffered <= REPLAY_BUFFER_LIMIT) this.chunks.push(chunk);
        else {
          this.replayable = false;
          this.chunks.length = 0;
        }
      }
      const up = this.upstream;
      if (up !== undefined && !up.destroyed && !up.write(chunk)) {
        down.pause();
        up.once('drain', () => down.resume());
      }
    });
    down.on('end', () => {
      this.downstreamEnded = true;
      const up = this.upstream;
      if (up !== undefined && !up.destroyed) up.end();
    });
    this.send();
  }

  private send(): void {
    this.retryTimer = undefined;
    if (this.done) return;
    const runtime = this.runtime;
    const endpoint = runtime.pick(undefined, this.tried);
    if (endpoint === undefined) {
      this.fail(new ProxyError('no_healthy_upstream', `cluster ${runtime.name}: no healthy endpoint`), true);
      return;
    }
    const session = runtime.connectionsOf(endpoint).http2();
    if (session.connecting) {
      if (!runtime.breaker.tryAcquire('pending_requests')) {
        this.fail(new ProxyError('overflow', `cluster ${runtime.name}: max_pending_requests reached`, 'pending_requests'), true);
        return;
      }
      this.holdsPending = true;
    }
    this.tried.push(endpoint.id);
    this.endpoint = endpoint;
    this.attemptEnded = false;
    this.attemptStarted = this.deps.clock.monotonic();
    runtime.outlier.onCallStarted(endpoint);
    let up: ClientHttp2Stream;
    try {
      up = session.request(this.requestHeaders, { endStream: false });
    } catch (err) {
      this.onUpstreamFailure(undefined, 'reset', err);
      return;
    }
    this.upstream = up;
    // 'ready': the stream has its id, i.e. the session is connected and the stream is sent.
    if (this.holdsPending) up.once('ready', this.releasePending);
    const perTry = runtime.perTryDeadlines;
    if (perTry !== undefined) this.perTryDeadline = perTry.add(() => this.onPerTryTimeout(up));
    for (const chunk of this.chunks) up.write(chunk);
    if (this.downstreamEnded) up.end();
    up.on('response', (headers, flags) => this.onResponse(up, headers, flags));
    up.on('trailers', (trailers) => {
      if (up === this.upstream) this.trailers = trailers;
    });
    up.on('data', (chunk: Buffer) => {
      if (up !== this.upstream || this.done) return;
      if (!this.downstream.write(chunk)) {
        up.pause();
        this.downstream.once('drain', () => up.resume());
      }
    });
    up.on('end', () => {
      if (up !== this.upstream || this.done || !this.committed || this.downstream.writableEnded) return;
      this.downstream.end();
    });
    up.on('error', () => undefined);
    up.on('close', () => this.onUpstreamClose(up));
  }

  private onResponse(up: ClientHttp2Stream, headers: IncomingHttpHeaders, flags: number): void {
    if (up !== this.upstream || this.done) return;
    const status = Number(headers[':status']);
    const trailersOnly = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    const grpcStatus = headers['grpc-status'];
    const retry = this.runtime.config.retry;
    const retriable =
      grpcStatus !== undefined ? retriableGrpcStatus(retry, Number(grpcStatus)) : !this.grpc && retriableStatus(retry, status);
    if (retriable && this.mayRetry()) {
      this.endAttempt(grpcStatus !== undefined ? httpStatusForGrpc(Number(grpcStatus)) : status);
      this.upstream = undefined;
      up.close(NGHTTP2_CANCEL);
      this.retry();
      return;
    }
    this.committed = true;
    this.status = grpcStatus !== undefined ? httpStatusForGrpc(Number(grpcStatus)) : status;
    const out: OutgoingHttpHeaders = {};
    for (const name in headers) if (!isHopByHop(name)) out[name] = headers[name];
    const down = this.downstream;
    if (down.destroyed || down.closed) return;
    if (trailersOnly) {
      down.respond(out, { endStream: true });
      return;
    }
    down.respond(out, { waitForTrailers: true });
    down.on('wantTrailers', () => {
      const t = this.trailers;
      const send: OutgoingHttpHeaders = {};
      if (t !== undefined) for (const name in t) if (name.charCodeAt(0) !== 58 /* ':' */) send[name] = t[name];
      down.sendTrailers(send);
    });
  }

  private onUpstreamClose(up: ClientHttp2Stream): void {
    if (up !== this.upstream || this.done) return;
    const code = up.rstCode ?? NGHTTP2_NO_ERROR;
    // Node reports code 0 for a peer's RST_STREAM on a stream we had already ended: a close
    // before the response's end is a reset whatever the code says.
    const reset = code !== NGHTTP2_NO_ERROR || !up.readableEnded;
    if (!reset && this.committed) {
      const grpcStatus = this.trailers?.['grpc-status'];
      this.endAttempt(grpcStatus !== undefined ? httpStatusForGrpc(Number(grpcStatus)) : this.status);
      this.finish(this.status);
      return;
    }
    if (this.committed) {
      // Reset mid-response: propagate RST_STREAM downstream with the same code.
      this.endAttempt(LOCAL_ORIGIN_FAILURE);
      if (!this.downstream.closed) this.downstream.close(code === NGHTTP2_NO_ERROR ? NGHTTP2_INTERNAL_ERROR : code);
      this.finish(LOCAL_ORIGIN_FAILURE);
      return;
    }
    this.onUpstreamFailure(up, code === NGHTTP2_REFUSED_STREAM ? 'connect-failure' : 'reset', new Error(`stream reset by the endpoint (code ${code})`));
  }

  private onUpstreamFailure(up: ClientHttp2Stream | undefined, cause: 'connect-failure' | 'reset' | 'timeout', err: unknown): void {
    this.endAttempt(LOCAL_ORIGIN_FAILURE);
    this.upstream = undefined;
    if (up !== undefined && !up.closed) up.close(NGHTTP2_CANCEL);
    if (retriableFailure(this.runtime.config.retry, cause) && this.mayRetry()) {
      this.retry();
      return;
    }
    const detail = err instanceof Error ? err.message : String(err);
    const error =
      cause === 'timeout'
        ? new ProxyError('timeout', `cluster ${this.runtime.name}: per-try timeout expired`)
        : new ProxyError('upstream_reset', `cluster ${this.runtime.name}: upstream reset before a response (${detail})`);
    this.fail(error, true);
  }

  private onPerTryTimeout(up: ClientHttp2Stream): void {
    this.perTryDeadline = undefined;
    if (up !== this.upstream || this.done || this.committed) return;
    this.onUpstreamFailure(up, 'timeout', new Error('per-try timeout'));
  }

  private readonly onTimeout = (): void => {
    this.timer = undefined;
    this.deadline = undefined;
    if (this.done) return;
    const up = this.upstream;
    this.endAttempt(504);
    this.upstream = undefined;
    if (up !== undefined && !up.closed) up.close(NGHTTP2_CANCEL);
    const error = new ProxyError('timeout', `cluster ${this.runtime.name}: deadline exceeded`);
    if (this.committed) {
      if (!this.downstream.closed) this.downstream.close(NGHTTP2_CANCEL);
      this.finish(504);
      return;
    }
    this.fail(error, true);
  };

  private readonly onDownstreamClose = (): void => {
    if (this.done) return;
    // The client reset or cancelled: pass the reset upstream; not the endpoint's fault.
    const up = this.upstream;
    this.endAttempt(499);
    if (up !== undefined && !up.closed) up.close(NGHTTP2_CANCEL);
    this.finish(499);
  };

  /** One `retries` slot from the first retry to the call's end (see http1-forwarder.ts). */
  private mayRetry(): boolean {
    if (!this.replayable || this.retries >= this.runtime.config.retry.num_retries) return false;
    if (this.holdsRetry) return true;
    this.holdsRetry = this.runtime.breaker.tryAcquire('retries');
    return this.holdsRetry;
  }

  private retry(): void {
    this.retries++;
    this.deps.metrics?.retries.inc({ cluster: this.runtime.name });
    this.retryTimer = this.deps.clock.setTimeout(() => this.send(), retryBackoffMs(this.retries - 1, this.deps.random));
  }

  private readonly releasePending = (): void => {
    if (!this.holdsPending) return;
    this.holdsPending = false;
    this.runtime.breaker.release('pending_requests');
  };

  private endAttempt(status: number): void {
    this.releasePending();
    if (this.attemptEnded || this.endpoint === undefined) return;
    this.attemptEnded = true;
    this.perTryDeadline?.cancel();
    this.perTryDeadline = undefined;
    const latency = status === LOCAL_ORIGIN_FAILURE ? undefined : this.deps.clock.monotonic() - this.attemptStarted;
    this.runtime.outlier.onCallEnded(this.endpoint, status, latency);
  }

  private fail(error: ProxyError, acquired: boolean): void {
    if (this.done) return;
    this.deps.metrics?.errors.inc({ cluster: this.runtime.name, cause: error.code });
    const down = this.downstream;
    if (!down.destroyed && !down.closed && !down.headersSent) {
      if (this.grpc) down.respond(error.grpcHeaders(), { endStream: true });
      else {
        const body = error.body();
        down.respond({ ':status': error.httpStatus, ...error.headers(body) });
        down.end(body);
      }
    } else if (!down.closed) down.close(NGHTTP2_CANCEL);
    if (acquired) this.finish(error.httpStatus);
    else {
      this.done = true;
      this.deps.clock.clearTimeout(this.timer);
      this.deadline?.cancel();
    }
  }

  private finish(status: number): void {
    if (this.done) return;
    this.done = true;
    const clock = this.deps.clock;
    clock.clearTimeout(this.timer);
    this.deadline?.cancel();
    this.perTryDeadline?.cancel();
    clock.clearTimeout(this.retryTimer);
    if (this.holdsRetry) this.runtime.breaker.release('retries');
    this.releasePending();
    this.runtime.breaker.release('requests');
    this.downstream.off('close', this.onDownstreamClose);
    this.runtime.requestCounters?.inc(this.grpc ? 'grpc' : 'http2', status);
  }
}
