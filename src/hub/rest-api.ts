import type http from 'node:http';
import type { AccessControl } from '../auth/access-control.js';
import type { CallSite } from '../auth/audit-log.js';
import type { Caller } from '../auth/caller.js';
import { httpCredentials } from '../auth/credentials.js';
import type { Identity } from '../auth/identity.js';
import type { StaticTokens } from '../auth/static-tokens.js';
import { systemClock, type Clock } from '../common/clock.js';
import { OutriggerError, STORE_RETRY_AFTER_SECONDS, notFound } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { Registry } from '../registry/registry.js';
import { ClientGoneError, DEFAULT_MAX_BODY_BYTES, readJsonBody } from '../http/body.js';
import { clientAddress } from '../http/client-address.js';
import { drainRequest, type DrainLimits } from '../http/drain.js';
import { errorReply, writeReply, type HttpReply } from '../http/response.js';
import { Router } from '../http/router.js';
import type { RestContext, RestRoute } from './rest-context.js';
import { discoverRoute } from './rest-discover-route.js';
import { instanceRoutes } from './rest-instance-routes.js';
import { dashboardRoutes } from './rest-dashboard-routes.js';
import { liveRoutes } from './rest-live-routes.js';
import { namespaceRoutes } from './rest-namespace-routes.js';
import { QueryReader } from './rest-query.js';
import { serviceRoutes } from './rest-service-routes.js';
import { systemRoutes } from './rest-system-routes.js';
import { tokenRoutes } from './rest-token-routes.js';
import { uiRoutes } from './rest-ui-routes.js';
import type { AdsStreamInfo } from '../xds/server/sotw-stream.js';
import type { OpenStreams } from './open-streams.js';
import type { WriteLimiter, WriteRefusal } from './write-limiter.js';

export interface RestHandlerDeps {
  registry: Registry;
  metrics: HubMetrics;
  logger?: Logger;
  clock?: Clock;
  isReady: () => boolean;
  /** More for /ready's body: the store, and whether the snapshot may be stale. */
  readyDetail?: () => Record<string, unknown>;
  /** Who may do what: every route but the probes identifies its caller and checks its rights. */
  access: AccessControl;
  /** Per-identity limits on writes (POST, PUT, DELETE). */
  writeLimiter?: WriteLimiter;
  /** The static tokens, for the token routes; undefined when the hub keeps none. */
  tokens?: StaticTokens;
  /** Largest request body accepted; default 1 MiB. */
  maxBodyBytes?: number;
  /** Open streams per identity, which live view streams count against. */
  openStreams?: OpenStreams;
  /** The live view's stream: heartbeat interval, and bytes a slow reader may leave unread. */
  live?: { heartbeatMs: number; bufferBytes: number };
  /** The xDS server's streams, for the dashboard and `GET /api/v1/xds/subscribers`. */
  subscribers?: () => AdsStreamInfo[];
}

/** Metrics label for requests that matched no route, so unknown paths cannot grow the label set. */
const UNMATCHED = 'unmatched';
/** A probe's caller: may do nothing, so a public route that tried to check anything would be refused. */
const PROBE: Identity = { name: 'probe', kind: 'anonymous', role: 'viewer', scopes: [], reads: [] };
/** Label for requests whose client left before the answer (nginx's convention). */
const CLIENT_GONE = '499';
const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/**
 * The hub's HTTP API as one node:http request listener: the REST/JSON API (the paths and shapes
 * of AI-CORE, a Rust service-discovery server whose clients this API serves unchanged),
 * /health, /ready and /metrics. Handlers return replies and throw OutriggerErrors; this front
 * does routing, rate limiting, body limits, error rendering and request metrics.
 */
export function createRestHandler(deps: RestHandlerDeps): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  // Enough slack that a client uploading a modestly oversized body still reads our 413.
  const drainLimits: DrainLimits = { maxBytes: Math.max(4 * maxBodyBytes, DEFAULT_MAX_BODY_BYTES), maxMs: 10_000 };

  const router = new Router<RestRoute>();
  const routes = [
    ...instanceRoutes(deps.registry, deps.metrics, (caller, writes) => deps.writeLimiter?.chargeBatch(caller.identity, caller.site.peer, writes)),
    discoverRoute(deps.registry),
    ...namespaceRoutes(deps.registry),
    ...serviceRoutes(deps.registry),
    ...systemRoutes(deps.metrics, deps.isReady, deps.readyDetail),
    ...tokenRoutes(deps.tokens, clock),
    ...liveRoutes(deps.registry, {
      clock,
      heartbeatMs: deps.live?.heartbeatMs ?? 15_000,
      bufferBytes: deps.live?.bufferBytes ?? 1024 * 1024,
      ...(deps.openStreams !== undefined ? { openStreams: deps.openStreams } : {}),
    }),
    ...dashboardRoutes(deps.registry, {
      clock,
      metrics: deps.metrics,
      bufferBytes: deps.live?.bufferBytes ?? 1024 * 1024,
      ...(deps.subscribers !== undefined ? { subscribers: deps.subscribers } : {}),
      ...(deps.openStreams !== undefined ? { openStreams: deps.openStreams } : {}),
    }),
    ...uiRoutes(),
  ];
  for (const route of routes) router.add(route.method, route.pattern, route);

  // The counter of each (route, code), looked up once rather than by labels on every request.
  const counters = new Map<string, Map<string, ReturnType<HubMetrics['requests']['labels']>>>();
  const count = (route: string, code: string): void => {
    let byCode = counters.get(route);
    if (byCode === undefined) counters.set(route, (byCode = new Map()));
    let counter = byCode.get(code);
    if (counter === undefined) byCode.set(code, (counter = deps.metrics.requests.labels({ api: 'rest', route, code })));
    counter.inc();
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = clock.monotonic();
    const method = req.method ?? 'GET';
    let route = UNMATCHED;
    let answer: HttpReply;
    let caller: Caller | undefined;
    try {
      const target = requestTarget(req.url ?? '/');
      const match = router.match(method, target.path);
      if (match.kind === 'not_found') {
        throw notFound(`no route for ${method} ${shorten(target.path)}; the API lives under /api/v1`);
      }
      route = match.pattern;
      if (match.kind === 'method_not_allowed') {
        const allow = match.allow.join(', ');
        answer = errorReply(new OutriggerError('method_not_allowed', `${method} is not allowed on ${match.pattern}; use ${allow}`), { allow });
      } else {
        const site: CallSite = { api: 'rest', op: `${method} ${match.pattern}`, peer: clientAddress(req) };
        // A keep-alive connection sends the same credential request after request: its identity is remembered per connection while it stays valid.
        const identity = match.handler.public === true ? PROBE : (deps.access.remembered(req.socket, req.headers.authorization) ?? (await deps.access.identify(() => httpCredentials(req), site, { key: req.socket, proof: req.headers.authorization })));
        caller = deps.access.caller(identity, site);
        const limited = limit(caller, method);
        if (limited !== undefined) {
          caller.done(limited.error, true);
          answer = errorReply(limited.error, { 'retry-after': String(limited.retryAfterSeconds) });
        } else {
          answer = await match.handler.handle(new RequestContext(req, target, match.params, match.handler, caller, maxBodyBytes));
          caller.done(undefined, WRITE_METHODS.has(method), match.handler.routine === true);
        }
      }
    } catch (err) {
      caller?.done(err, WRITE_METHODS.has(method));
      if (err instanceof ClientGoneError) {
        count(route, CLIENT_GONE);
        return;
      }
      answer = failure(err, method, route);
    }
    if (res.headersSent || res.destroyed) {
      count(route, CLIENT_GONE);
      return;
    }
    if (!req.complete) drainRequest(req, clock, drainLimits);
    writeReply(res, answer);
    count(route, String(answer.status));
    logger.debug('rest request', { method, route, status: answer.status, ms: Math.round(clock.monotonic() - started) });
  }

  function limit(caller: Caller, method: string): WriteRefusal | undefined {
    if (deps.writeLimiter === undefined || !WRITE_METHODS.has(method)) return undefined;
    return deps.writeLimiter.take(caller.identity, caller.site.peer);
  }

  function failure(err: unknown, method: string, route: string): HttpReply {
    // RFC 6750: a 401 names the scheme it wants.
    if (err instanceof OutriggerError && err.code === 'unauthenticated') return errorReply(err, { 'www-authenticate': 'Bearer realm="outrigger"' });
    // The store comes back on its own: say when to try again, as for a rate limit.
    if (err instanceof OutriggerError && err.code === 'store_unavailable') return errorReply(err, { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) });
    if (err instanceof OutriggerError) return errorReply(err);
    logger.error('rest handler failed', { method, route, err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    return errorReply(new OutriggerError('internal', 'internal error; the hub log has the details'));
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Only a bug in the code above can land here; never leave the client hanging.
      logger.error('rest request failed', { err: String(err) });
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  };
}

/** A request target's path (still percent-encoded) and query string. */
interface RequestTarget {
  readonly path: string;
  readonly search: string;
}

/**
 * Plain origin-form targets: printable ASCII without `#` or a backslash, and no `.` or `..` segment
 * (written plainly or percent-encoded), which the WHATWG URL parser would rewrite. Such a
 * target splits at `?` exactly as `new URL` would parse it, without building a URL.
 */
const PLAIN_TARGET = /^\/[!$-[\]-~]*$/;
const DOT_SEGMENT = /\/(?:\.|%2e)(?:\.|%2e)?(?:[/?]|$)/i;

/** Origin-form (`/path?q`) and absolute-form (`http://host/path`) request targets. */
function requestTarget(target: string): RequestTarget {
  if (PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(target)) {
    const q = target.indexOf('?');
    return q < 0 ? { path: target, search: '' } : { path: target.slice(0, q), search: target.slice(q + 1) };
  }
  try {
    // Prefixing keeps `//x` a path instead of a host.
    const url = target.startsWith('/') ? new URL(`http://hub${target}`) : new URL(target);
    return { path: url.pathname, search: url.search.slice(1) };
  } catch {
    throw new OutriggerError('invalid_argument', `the request target ${JSON.stringify(shorten(target))} is not a valid URL`, 'path');
  }
}

/** One request as a handler sees it: a class, so a request costs one object and no closures. */
class RequestContext implements RestContext {
  private bodyRead: Promise<unknown> | undefined;
  readonly search: string;
  readonly query: QueryReader;

  constructor(
    private readonly req: http.IncomingMessage,
    target: RequestTarget,
    readonly params: Readonly<Record<string, string>>,
    route: RestRoute,
    readonly caller: Caller,
    private readonly maxBodyBytes: number,
  ) {
    this.search = target.search;
    // Checked before the handler runs, so an unknown or repeated parameter is refused on every route.
    this.query = new QueryReader(new URLSearchParams(this.search), route.query);
  }

  body(): Promise<unknown> {
    return (this.bodyRead ??= readJsonBody(this.req, this.maxBodyBytes));
  }

  header(name: string): string | undefined {
    const v = this.req.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  }
}

function shorten(s: string): string {
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}
