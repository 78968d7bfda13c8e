/**
 * One downstream request on the raw-socket path, from its head to the end of its response: the
 * call lifecycle (admission, tries, retries; cluster-call.ts) around an upstream exchange on a
 * pooled raw socket. Bytes are forwarded as they arrive: the request head is rewritten once
 * (hop-by-hop headers, x-forwarded-*, absolute-form to origin-form), body chunks go out as
 * llhttp hands them over (re-framed when chunked), and each upstream read leaves downstream
 * in one corked write.
 *
 * The order a request travels: route → breaker (requests) → pick → connection (pending while
 * it waits) → response head (a retriable status is dropped and retried elsewhere) → body →
 * outcome to the balancer (outlier detection counts it) → breaker released.
 */
import { STATUS_CODES } from 'node:http';
import type { Deadline } from '../../common/deadline-queue.js';
import { LOCAL_ORIGIN_FAILURE } from '../../balancers/call-outcome.js';
import type { PickContext } from '../../balancers/picker.js';
import { codeClass } from '../../metrics/proxy-metrics.js';
import type { AttemptHandle } from '../attempt-handle.js';
import { ClusterCall } from '../cluster-call.js';
import type { RouteResult } from '../http-router.js';
import { downstreamResponseRaw, rawHeaderValue, upstreamRequestHeaders } from '../hop-headers.js';
import { ProxyError } from '../proxy-errors.js';
import { ReplayBody } from '../replay-body.js';
import { failureCause, failureError, isIdempotent, REPLAY_BUFFER_LIMIT, retriableFailure, retriableStatus, type FailureCause } from '../retry-policy.js';
import type { DownstreamConnection, DownstreamExchange } from './downstream-connection.js';
import type { Http1Env } from './http1-env.js';
import type { MessageHead } from './llhttp-parser.js';
import type { UpstreamConnection, UpstreamResponseHandler } from './upstream-connection.js';
import type { ConnectionWaiter, UpstreamPool } from './upstream-pool.js';

export interface ExchangeTarget {
  /** Origin-form path with query. */
  readonly path: string;
  /** The authority the client asked for (x-forwarded-host; Host of an absolute-form request). */
  readonly authority: string | undefined;
  /** Absolute-form (forward proxy): Host is rewritten to the authority. */
  readonly absolute: boolean;
}

const enum Framing {
  None,
  Length,
  Chunked,
  Close,
}

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const LAST_CHUNK = '0\r\n\r\n';
const CRLF = '\r\n';

export class ProxyExchange implements DownstreamExchange, UpstreamResponseHandler {
  private route: RouteResult | undefined;
  private target: ExchangeTarget | undefined;
  private call: ClusterCall | undefined;
  private attempt: AttemptHandle | undefined;
  private upstream: UpstreamConnection | undefined;
  private pool: UpstreamPool | undefined;
  private waiting: ConnectionWaiter | undefined;
  private requestHead = '';
  private readonly hasBody: boolean;
  private readonly chunkedRequest: boolean;
  private readonly idempotent: boolean;
  private replay: ReplayBody | undefined;
  /** Body chunks received while no upstream connection takes them (streamed bodies only). */
  private held: Buffer[] | undefined;
  private requestTrailers: string[] | undefined;
  private requestEnded = false;
  private started = false;
  private committed = false;
  private responseFraming = Framing.None;
  private responseEnded = false;
  private done = false;
  private status = 0;
  private overall: Deadline | undefined;
  private perTry: Deadline | undefined;
  private context: PickContext | undefined;
  private corked = false;
  /** The endpoint is not read until the client drains what it was sent. */
  private upstreamPaused = false;
  private upstreamBlocked = false;
  /** Answer with Connection: close, then close (the client asked, HTTP/1.0, or the proxy is stopping). */
  closeAfter: boolean;

  constructor(
    private readonly env: Http1Env,
    private readonly conn: DownstreamConnection,
    readonly head: MessageHead,
  ) {
    const raw = head.rawHeaders;
    const te = rawHeaderValue(raw, 'transfer-encoding');
    const cl = rawHeaderValue(raw, 'content-length');
    this.chunkedRequest = te !== undefined;
    this.hasBody = te !== undefined || (cl !== undefined && cl !== '0');
    this.idempotent = isIdempotent(head.method);
    // Only a body of known, small length is kept for a retry; a chunked or large one is streamed.
    if (this.idempotent && this.hasBody && te === undefined && Number(cl) <= REPLAY_BUFFER_LIMIT) this.replay = new ReplayBody();
    this.closeAfter = !head.keepAlive;
  }

  /** Routing is the listener's; the exchange starts once it is the connection's current one. */
  setRoute(route: RouteResult, target: ExchangeTarget): void {
    this.route = route;
    this.target = target;
  }

  /** The connection made this exchange its current one: answer Expect, admit, try. */
  start(): void {
    this.started = true;
    if (this.route === undefined) return; // resolveRoute() calls start again when it knows
    const route = this.route;
    if (route.kind === 'error') {
      this.fail(route.error);
      return;
    }
    if (!this.requestEnded && rawHeaderValue(this.head.rawHeaders, 'expect')?.toLowerCase() === '100-continue') this.conn.socket.write(CONTINUE);
    this.requestHead = this.buildRequestHead();
    if (route.kind === 'cluster') {
      const call = ClusterCall.start(route.runtime, 'requests', this.env);
      if (call instanceof ProxyError) {
        this.fail(call);
        return;
      }
      this.call = call;
      this.overall = route.runtime.requestDeadline(this.onOverallTimeout);
    }
    this.send();
  }

  /** An asynchronous route (a cluster asked for on demand) arrived. */
  resolveRoute(route: RouteResult, target: ExchangeTarget): void {
    this.route = route;
    this.target = target;
    if (this.started && !this.done) this.start();
  }

  get isDone(): boolean {
    return this.done;
  }

  // ---- the request body, from the downstream parser ----

  onRequestBody(chunk: Buffer): void {
    const up = this.upstream;
    if (this.done && up === undefined) return; // answered already: the rest of the body is read and dropped
    if (this.replay !== undefined) this.replay.push(chunk);
    if (up !== undefined) {
      if (!this.writeBody(up, chunk)) this.blockDownstream();
      return;
    }
    if (this.replay === undefined) {
      // A streamed body waits (bounded: the downstream stops being read) for its connection.
      if (this.held === undefined) {
        this.held = [];
        this.conn.pause();
      }
      this.held.push(chunk);
    }
  }

  onRequestEnd(trailers: string[]): void {
    this.requestEnded = true;
    this.requestTrailers = trailers;
    if (this.replay !== undefined) this.replay.complete = true;
    const up = this.upstream;
    if (up !== undefined) this.endRequest(up);
    if (this.done) {
      this.upstream = undefined;
      this.conn.exchangeDone(this);
    }
  }

  onRequestRefused(): boolean {
    if (this.done || this.committed) return false;
    // Refused by the parser mid-body: the endpoint must never see this request complete.
    this.dropAttempt(400);
    this.finish(400);
    return true;
  }

  onDownstreamClose(): void {
    if (this.done) return;
    // The client went away: not the endpoint's fault (499 is not a failure for outlier detection).
    this.dropAttempt(499);
    this.finish(499);
  }

  // ---- tries ----

  private send(): void {
    if (this.done) return;
    const route = this.route!;
    let pool: UpstreamPool;
    if (route.kind === 'cluster') {
      // Pending (Envoy) until the try is on a connection: given back at once when one is idle.
      const attempt = this.call!.attempt(this.pickContext(), true);
      if (attempt instanceof ProxyError) {
        this.fail(attempt);
        return;
      }
      this.attempt = attempt;
      this.perTry = route.runtime.perTryDeadline(this.onPerTryTimeout);
      pool = this.env.pools.ofEndpoint(attempt);
    } else if (route.kind === 'passthrough') {
      pool = this.env.pools.ofHost(route.host, route.port);
    } else return;
    this.pool = pool;
    const idle = pool.idleConnection();
    if (idle !== undefined) {
      this.attempt?.releasePending();
      this.attach(idle);
      return;
    }
    const waiter: ConnectionWaiter = (r) => {
      if (this.waiting !== waiter) {
        if (!(r instanceof Error)) pool.release(r);
        return;
      }
      this.waiting = undefined;
      this.attempt?.releasePending();
      if (r instanceof Error) this.onUpstreamError(r);
      else this.attach(r);
    };
    this.waiting = waiter;
    pool.wait(waiter);
  }

  private attach(up: UpstreamConnection): void {
    this.upstream = up;
    up.start(this, this.requestHead, this.head.method === 'HEAD');
    const replay = this.replay;
    if (replay !== undefined) {
      for (const part of replay.parts) this.writeBody(up, part);
    } else if (this.held !== undefined) {
      for (const part of this.held) this.writeBody(up, part);
      this.held = undefined;
      this.conn.resume();
    }
    if (this.requestEnded) this.endRequest(up);
    up.flush();
  }

  private writeBody(up: UpstreamConnection, chunk: Buffer): boolean {
    if (!this.chunkedRequest) return up.write(chunk);
    up.write(`${chunk.length.toString(16)}${CRLF}`);
    up.write(chunk);
    return up.write(CRLF);
  }

  private endRequest(up: UpstreamConnection): void {
    if (this.chunkedRequest) up.write(this.requestTrailers !== undefined && this.requestTrailers.length > 0 ? `0${CRLF}${headerLines(this.requestTrailers)}${CRLF}` : LAST_CHUNK);
    up.requestEnded();
  }

  private blockDownstream(): void {
    if (this.upstreamBlocked) return;
    this.upstreamBlocked = true;
    this.conn.pause();
  }

  onUpstreamDrain(): void {
    if (!this.upstreamBlocked) return;
    this.upstreamBlocked = false;
    this.conn.resume();
  }

  // ---- the response, from the upstream parser ----

  onReadStart(): void {
    if (this.corked || this.done) return;
    this.corked = true;
    this.conn.socket.cork();
  }

  onReadEnd(): void {
    if (!this.corked) return;
    this.corked = false;
    this.conn.socket.uncork();
  }

  onResponseHead(head: MessageHead): void {
    if (this.done) return;
    const status = head.statusCode;
    this.status = status;
    const route = this.route;
    if (route?.kind === 'cluster' && retriableStatus(route.runtime.retryPolicy, status) && this.call!.retry.may(this.replayable)) {
      this.dropAttempt(status);
      this.retry();
      return;
    }
    this.committed = true;
    const h = downstreamResponseRaw(head.rawHeaders);
    const noBody = this.head.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
    let framing: string;
    if (noBody) {
      this.responseFraming = Framing.None;
      framing = '';
    } else if (h.contentLength && !h.transferEncoding) {
      this.responseFraming = Framing.Length;
      framing = '';
    } else if (this.head.versionMinor >= 1 && this.head.versionMajor === 1) {
      this.responseFraming = Framing.Chunked;
      framing = `transfer-encoding: chunked${CRLF}`;
    } else {
      // An HTTP/1.0 client without a length: the body ends with the connection.
      this.responseFraming = Framing.Close;
      this.closeAfter = true;
      framing = '';
    }
    const reason = head.statusMessage !== '' ? head.statusMessage : (STATUS_CODES[status] ?? '');
    const connection = this.closeAfter || this.conn.closing ? `connection: close${CRLF}` : this.head.versionMinor === 0 ? `connection: keep-alive${CRLF}` : '';
    this.conn.socket.write(`HTTP/1.1 ${status} ${reason}${CRLF}${headerLines(h.headers)}${framing}${connection}${CRLF}`, 'latin1');
  }

  onResponseBody(chunk: Buffer): void {
    if (this.done || !this.committed) return;
    const socket = this.conn.socket;
    let ok: boolean;
    if (this.responseFraming === Framing.Chunked) {
      socket.write(`${chunk.length.toString(16)}${CRLF}`);
      socket.write(chunk);
      ok = socket.write(CRLF);
    } else ok = socket.write(chunk);
    if (!ok) this.pauseUpstream();
  }

  /**
   * Backpressure: the endpoint is not read until the client drains what it was sent. Through the
   * parser, which reads the socket itself (a stream pause would not stop those reads).
   */
  private pauseUpstream(): void {
    const up = this.upstream;
    if (up === undefined || this.upstreamPaused) return;
    this.upstreamPaused = true;
    up.pauseReading();
    this.conn.socket.once('drain', () => this.resumeUpstream(up));
  }

  private resumeUpstream(up: UpstreamConnection): void {
    if (!this.upstreamPaused) return;
    this.upstreamPaused = false;
    up.resumeReading();
  }

  onResponseEnd(trailers: string[]): void {
    if (this.done || !this.committed) return;
    if (this.responseFraming === Framing.Chunked) this.conn.socket.write(trailers.length > 0 ? `0${CRLF}${headerLines(trailers)}${CRLF}` : LAST_CHUNK);
    // The connection may serve another exchange: it must not stay paused for this client.
    if (this.upstreamPaused && this.upstream !== undefined) this.resumeUpstream(this.upstream);
    // The connection goes back to its pool once the request is written too.
    if (this.requestEnded) this.upstream = undefined;
    this.attempt?.end(this.status);
    this.responseEnded = true;
    this.finish(this.status);
  }

  onUpstreamError(err: Error): void {
    if (this.done) return;
    this.upstream = undefined;
    this.attempt?.end(LOCAL_ORIGIN_FAILURE);
    const cause: FailureCause = err instanceof ProxyError && err.code === 'timeout' ? 'timeout' : failureCause(err);
    const route = this.route;
    if (!this.committed && route?.kind === 'cluster' && retriableFailure(route.runtime.retryPolicy, cause) && this.call!.retry.may(this.replayable)) {
      this.retry();
      return;
    }
    this.fail(failureError(cause, this.clusterName, err));
  }

  // ---- timeouts, retries, the end ----

  private readonly onPerTryTimeout = (): void => {
    this.perTry = undefined;
    if (this.done || this.committed) return;
    const up = this.upstream;
    this.upstream = undefined;
    up?.abort();
    this.cancelWaiting();
    this.onUpstreamError(new ProxyError('timeout', 'per-try timeout'));
  };

  private readonly onOverallTimeout = (): void => {
    this.overall = undefined;
    if (this.done) return;
    this.dropAttempt(504);
    this.fail(new ProxyError('timeout', `cluster ${this.clusterName}: no complete response within ${this.call?.runtime.timeoutMs ?? 0} ms`));
  };

  /** A retry needs the whole body still at hand: none, or a small one kept so far. */
  private get replayable(): boolean {
    return this.idempotent && (!this.hasBody || (this.replay?.kept ?? false));
  }

  private retry(): void {
    this.perTry?.cancel();
    this.perTry = undefined;
    this.attempt = undefined;
    this.call!.retry.schedule(this.sendRetry);
  }

  private readonly sendRetry = (): void => this.send();

  /** Abandons the current try (status for its outcome): its connection is not reused. */
  private dropAttempt(status: number): void {
    const up = this.upstream;
    this.upstream = undefined;
    up?.abort();
    this.cancelWaiting();
    this.attempt?.end(status);
    this.attempt = undefined;
  }

  private cancelWaiting(): void {
    if (this.waiting === undefined) return;
    this.pool?.cancel(this.waiting);
    this.waiting = undefined;
  }

  private fail(error: ProxyError): void {
    if (this.done) return;
    this.env.metrics?.errors.inc({ cluster: this.clusterName, cause: error.code });
    if (this.committed) {
      // Too late for an error response: reset the downstream so the client sees the failure.
      this.conn.destroy();
      this.finish(LOCAL_ORIGIN_FAILURE);
      return;
    }
    const body = error.body();
    const headers = error.headers(body);
    let text = `HTTP/1.1 ${error.httpStatus} ${STATUS_CODES[error.httpStatus] ?? ''}${CRLF}`;
    for (const name in headers) text += `${name}: ${headers[name]!}${CRLF}`;
    if (this.closeAfter || this.conn.closing) text += `connection: close${CRLF}`;
    this.conn.socket.write(`${text}${CRLF}${body}`);
    this.responseEnded = true;
    this.finish(error.httpStatus);
  }

  private finish(status: number): void {
    if (this.done) return;
    this.done = true;
    this.overall?.cancel();
    this.perTry?.cancel();
    this.cancelWaiting();
    this.call?.finish();
    if (this.upstreamBlocked) {
      this.upstreamBlocked = false;
      this.conn.resume();
    }
    if (this.held !== undefined) {
      this.held = undefined;
      this.conn.resume();
    }
    const route = this.route;
    if (route?.kind === 'cluster') route.runtime.finishRequest('http', status, this.call, this.head.method, this.target?.authority ?? '', this.target?.path ?? this.head.url);
    else this.env.metrics?.requests.inc({ cluster: this.clusterName, protocol: 'http', code_class: status === LOCAL_ORIGIN_FAILURE ? '5xx' : codeClass(status) });
    if (!this.responseEnded) return; // reset or client gone: the connection is closing
    // The next exchange on this connection waits until this request's body is read.
    if (this.requestEnded) this.conn.exchangeDone(this);
  }

  private get clusterName(): string {
    const route = this.route;
    return route?.kind === 'cluster' ? route.runtime.name : 'passthrough';
  }

  /** Lazily: most policies never read the context. */
  private pickContext(): PickContext {
    if (this.context !== undefined) return this.context;
    const raw = this.head.rawHeaders;
    this.context = {
      header: (name) => rawHeaderValue(raw, name),
      sourceIp: this.conn.socket.remoteAddress,
      path: this.target?.path ?? this.head.url,
    };
    return this.context;
  }

  private buildRequestHead(): string {
    const target = this.target!;
    const headers = upstreamRequestHeaders(this.head.rawHeaders, rawHeaderValue(this.head.rawHeaders, 'connection'), {
      remoteAddress: this.conn.socket.remoteAddress,
      proto: 'http',
      host: target.authority,
      replaceHost: target.absolute,
    });
    const framing = this.chunkedRequest ? `transfer-encoding: chunked${CRLF}` : '';
    return `${this.head.method} ${target.path} HTTP/1.1${CRLF}${headerLines(headers)}${framing}${CRLF}`;
  }
}

function headerLines(flat: readonly string[]): string {
  let text = '';
  for (let i = 0; i < flat.length; i += 2) text += `${flat[i]!}: ${flat[i + 1]!}${CRLF}`;
  return text;
}
