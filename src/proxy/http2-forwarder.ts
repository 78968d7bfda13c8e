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
import { LOCAL_ORIGIN_FAILURE, httpStatusForGrpc } from '../balancers/call-outcome.js';
import type { RandomSource } from '../balancers/picker.js';
import type { ProxyMetrics } from '../metrics/proxy-metrics.js';
import type { AttemptHandle } from './attempt-handle.js';
import { ClusterCall } from './cluster-call.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { isHopByHop } from './hop-headers.js';
import { ProxyError } from './proxy-errors.js';
import { ReplayBody } from './replay-body.js';
import { parseGrpcTimeout, shorterTimeout } from './request-timeouts.js';
import { isIdempotent, retriableFailure, retriableGrpcStatus, retriableStatus } from './retry-policy.js';

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
  private readonly replay: ReplayBody | undefined;
  private downstreamEnded = false;
  private upstream: ClientHttp2Stream | undefined;
  private call: ClusterCall | undefined;
  private attempt: AttemptHandle | undefined;
  private committed = false;
  private done = false;
  private trailers: IncomingHttpHeaders | undefined;
  private status = 0;
  /** The cluster's timeout (a queue shared by the cluster's calls) or a shorter gRPC deadline (a timer). */
  private deadline: Deadline | undefined;
  private timer: TimerHandle | undefined;
  private perTryDeadline: Deadline | undefined;

  constructor(
    private readonly deps: Http2Deps,
    private readonly downstream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    private readonly runtime: ClusterRuntime,
  ) {
    const ct = headers['content-type'];
    this.grpc = typeof ct === 'string' && ct.startsWith('application/grpc');
    this.replay = this.grpc || isIdempotent(String(headers[':method'] ?? 'GET')) ? new ReplayBody() : undefined;
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
    if (timeout > 0 && timeout === runtime.timeoutMs) this.deadline = runtime.requestDeadline(this.onTimeout);
    else if (timeout > 0) this.timer = deps.clock.setTimeout(this.onTimeout, timeout);
  }

  start(): void {
    const runtime = this.runtime;
    const down = this.downstream;
    down.on('error', () => undefined);
    down.on('close', this.onDownstreamClose);
    const call = ClusterCall.start(runtime, 'requests', this.deps);
    if (call instanceof ProxyError) {
      this.fail(call, false);
      return;
    }
    this.call = call;
    down.on('data', (chunk: Buffer) => {
      this.replay?.push(chunk);
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
    if (this.done) return;
    const runtime = this.runtime;
    // Pending (Envoy's): while the stream waits for its endpoint's session to connect.
    const attempt = this.call!.attempt(undefined, (c) => c.http2().connecting);
    if (attempt instanceof ProxyError) {
      this.fail(attempt, true);
      return;
    }
    this.attempt = attempt;
    let up: ClientHttp2Stream;
    try {
      up = attempt.connections.http2().request(this.requestHeaders, { endStream: false });
    } catch (err) {
      this.onUpstreamFailure(undefined, 'reset', err);
      return;
    }
    this.upstream = up;
    // 'ready': the stream has its id, i.e. the session is connected and the stream is sent.
    up.once('ready', attempt.releasePending);
    this.perTryDeadline = runtime.perTryDeadline(() => this.onPerTryTimeout(up));
    if (this.replay !== undefined) for (const chunk of this.replay.parts) up.write(chunk);
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
    const retry = this.runtime.retryPolicy;
    const retriable =
      grpcStatus !== undefined ? retriableGrpcStatus(retry, Number(grpcStatus)) : !this.grpc && retriableStatus(retry, status);
    if (retriable && this.call!.retry.may(this.replayable)) {
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
    if (retriableFailure(this.runtime.retryPolicy, cause) && this.call!.retry.may(this.replayable)) {
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

  /** A try is replayable while the whole request body so far is kept. */
  private get replayable(): boolean {
    return this.replay?.kept ?? false;
  }

  private retry(): void {
    this.call!.retry.schedule(() => this.send());
  }

  private endAttempt(status: number): void {
    const attempt = this.attempt;
    if (attempt === undefined) return;
    attempt.releasePending();
    if (attempt.isEnded) return;
    this.perTryDeadline?.cancel();
    this.perTryDeadline = undefined;
    attempt.end(status);
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
    this.attempt?.releasePending();
    this.call?.finish();
    this.downstream.off('close', this.onDownstreamClose);
    const h = this.requestHeaders;
    this.runtime.finishRequest(this.grpc ? 'grpc' : 'http2', status, this.call, String(h[':method'] ?? ''), String(h[':authority'] ?? h.host ?? ''), String(h[':path'] ?? ''));
  }
}
