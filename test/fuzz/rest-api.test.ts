/**
 * Fuzzing the hub's REST API on a whole hub with auth on, over loopback: every route, with
 * random and mutated bodies, query strings and path segments, content types and credentials of
 * every role. Whatever comes in, the hub answers within a bound with a 2xx or a 4xx (never a
 * 5xx), every error is a catalogue error with its own status, a read or a refusal leaves the
 * registry exactly as it was, and the hub still answers its health check afterwards.
 *
 * The fuzz suites live together in test/fuzz/ rather than beside each surface's tests: they share
 * one runner and size knob (test/helpers/fuzz.ts), `npm run test:fuzz` picks them by folder for
 * a long run, and each drives a whole server from outside, through its socket.
 */
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import test from 'ava';
import fc from 'fast-check';
import { systemClock } from '../../src/common/clock.js';
import type { HttpMethod } from '../../src/http/router.js';
import { discoverRoute } from '../../src/hub/rest-discover-route.js';
import { instanceRoutes } from '../../src/hub/rest-instance-routes.js';
import { liveRoutes } from '../../src/hub/rest-live-routes.js';
import { namespaceRoutes } from '../../src/hub/rest-namespace-routes.js';
import { serviceRoutes } from '../../src/hub/rest-service-routes.js';
import { systemRoutes } from '../../src/hub/rest-system-routes.js';
import { tokenRoutes } from '../../src/hub/rest-token-routes.js';
import type { AuthHub } from '../helpers/auth-hub.js';
import { check, fuzz, nastyString, Tally } from '../helpers/fuzz.js';
import { percentEncode, rawTargetText, type Answer, type Endpoint, type Exchange } from '../helpers/fuzz-http.js';
import { startFuzzHub, type FuzzTokens } from '../helpers/fuzz-registry.js';
import { authorization, checkCatalogueError, credential, describe, fuzzEveryRoute, json, jsonBody, jsonOf, METHODS, pathFor, probe as probeOnce, queryPart, type Credential } from '../helpers/fuzz-request.js';

const ANSWER_BOUND_MS = 5000;

interface FuzzRoute {
  method: HttpMethod;
  pattern: string;
  query?: readonly string[];
  /** A valid body, the seed of structure-aware mutations. */
  body?: Record<string, unknown>;
}

const SERVICE = '/api/v1/namespaces/{namespace}/services/{service}';

/** Every REST route of the hub; a test below keeps this list equal to the hub's own. */
const ROUTES: readonly FuzzRoute[] = [
  {
    method: 'POST',
    pattern: '/api/v1/services',
    body: { id: 'fz-1', name: 'echo', namespace: 'demo.local', address: '10.0.0.9', port: 8080, protocol: 'http', version: 'v1', zone: 'z1', region: 'r1', weight: 10, metadata: { team: 'a' }, health: 'HEALTHY', ttl: 0, deregister_critical_after: '1m' },
  },
  {
    method: 'POST',
    pattern: '/api/v1/services:batch',
    body: { items: [{ id: 'fz-b1', name: 'echo', namespace: 'demo.local', address: '10.0.0.10', port: 8080, ttl: 0 }, { id: 'fz-b2', service: 'echo', namespace: 'demo.local', address: '10.0.0.11', port: 8081, health: 'HEALTHY', ttl: 0 }] },
  },
  { method: 'GET', pattern: '/api/v1/services', query: ['namespace', 'service_name', 'health'] },
  { method: 'GET', pattern: '/api/v1/services/{id}' },
  { method: 'DELETE', pattern: '/api/v1/services/{id}' },
  { method: 'POST', pattern: '/api/v1/services/{id}/heartbeat', body: { service_id: 'echo-1', status: 'healthy' } },
  { method: 'PUT', pattern: '/api/v1/services/{id}/health', body: { health: 'DRAINING' } },
  { method: 'PUT', pattern: '/api/v1/services/{id}/weight', body: { weight: 50 } },
  {
    method: 'GET',
    pattern: '/api/v1/discover',
    query: ['service_name', 'namespace', 'version', 'zone', 'healthy_only', 'include_unhealthy', 'limit', 'load_balancing_strategy', 'metadata.team'],
  },
  { method: 'GET', pattern: '/api/v1/namespaces' },
  { method: 'POST', pattern: '/api/v1/namespaces', body: { name: 'fz.local', description: 'made by a fuzz case' } },
  { method: 'GET', pattern: '/api/v1/namespaces/{namespace}' },
  { method: 'DELETE', pattern: '/api/v1/namespaces/{namespace}' },
  { method: 'GET', pattern: '/api/v1/namespaces/{namespace}/services' },
  { method: 'GET', pattern: SERVICE },
  {
    method: 'PUT',
    pattern: SERVICE,
    body: {
      lb_policy: 'least_request',
      lb_options: { choice_count: 3 },
      circuit_breakers: { max_connections: 10, max_retries: 1 },
      outlier_detection: { enabled: true, consecutive_5xx: 3, interval_ms: 1000 },
      retry: { num_retries: 1, retry_on: ['5xx'], retriable_status_codes: [503] },
      timeout_ms: 1000,
      panic_threshold_percent: 50,
      zone_aware: { enabled: false },
      health_check: { ttl_ms: 5000 },
    },
  },
  { method: 'DELETE', pattern: SERVICE },
  { method: 'GET', pattern: `${SERVICE}/instances` },
  { method: 'GET', pattern: '/health', query: ['ready'] },
  { method: 'GET', pattern: '/ready' },
  { method: 'GET', pattern: '/metrics' },
  { method: 'GET', pattern: '/api/v1/auth/whoami' },
  { method: 'GET', pattern: '/api/v1/auth/tokens' },
  { method: 'POST', pattern: '/api/v1/auth/tokens', body: { name: 'fz', role: 'viewer', scopes: ['demo.local'], ttl: '1h' } },
  { method: 'DELETE', pattern: '/api/v1/auth/tokens/{id}' },
  // `watch=true` turns the answer into an endless event stream, so the fuzzer leaves `watch` out.
  { method: 'GET', pattern: '/api/v1/instances/live', query: ['namespace', 'service_name'] },
];

/** Path parameter values that exist (so the handler runs), and some that do not. */
const PARAMS: Record<string, readonly string[]> = {
  id: ['echo-1', 'echo-2', 'api-1', 'nope-1', 'tok-0123456789abcdef'],
  namespace: ['demo.local', 'other.local', 'empty.local', 'nope.local', 'default'],
  service: ['echo', 'idle', 'api', 'nope'],
};

/** Query values a route understands, mixed with garbage. */
const QUERY_VALUES = ['echo', 'echo.demo.local', 'demo.local', 'other.local', 'HEALTHY', 'healthy,draining', 'true', 'false', '1', '0', '10000', '10001', 'v2', 'z1', 'a', 'round_robin'];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON; charset="UTF-8"',
  'application/json; charset=latin1',
  'application/jsonx',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '*/*',
  '',
] as const;

let hub: AuthHub;
let endpoint: Endpoint;
let tokens: FuzzTokens;

test.before(async () => {
  ({ hub, tokens } = await startFuzzHub());
  endpoint = { port: hub.addresses.httpPort, agent: new http.Agent({ keepAlive: true, maxSockets: 4 }) };
});

test.after.always(async () => {
  endpoint?.agent.destroy();
  await hub?.close();
});

const requestFor = (route: FuzzRoute): fc.Arbitrary<Exchange & { credential: Credential; route: FuzzRoute }> =>
  fc
    .record({
      method: fc.oneof({ weight: 12, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      path: pathFor(route.pattern, PARAMS),
      query: queryPart(route.query ?? [], QUERY_VALUES, { keys: ['service_name', 'namespace', 'metadata.', 'metadata.__proto__', 'metadata.Bad Key'], queries: ['?limit=1e3', '?health=HEALTHY&health=UNKNOWN', '?ready=maybe'] }),
      trailingSlash: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      body: jsonBody(route.body),
      contentType: fc.oneof({ weight: 4, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) }),
      chunked: fc.boolean(),
      credential,
    })
    .map((r) => ({
      route,
      credential: r.credential,
      method: r.method,
      target: `${r.path}${r.trailingSlash ? '/' : ''}${r.query}`,
      headers: { ...authorization(tokens, r.credential), ...(r.body !== undefined && r.contentType !== '' ? { 'content-type': r.contentType } : {}) },
      ...(r.body !== undefined ? { body: r.body } : {}),
      chunked: r.chunked,
    }))
    // A watch is a stream that never ends on its own; the live view's plain read is what is fuzzed.
    .filter((x) => !/[?&]watch=/i.test(x.target));

/** Odd request targets that are not a route at all. */
const oddTarget: fc.Arbitrary<Exchange & { credential: Credential; route: undefined }> = fc
  .record({
    target: fc.oneof(
      fc.constantFrom('*', '/', '//api/v1/services', '/api/v1/../v1/services', '/api/v1/services/../namespaces', '/%2e%2e/health', 'http://hub/api/v1/services', '/api//v1', '/api/v2/services', '/api/v1/services/a/b/c/d'),
      nastyString.map((s) => `/${rawTargetText(s)}`),
      nastyString.map((s) => `/api/v1/${percentEncode(s)}`),
    ),
    method: fc.constantFrom(...METHODS),
    credential,
  })
  .map((r) => ({ route: undefined, credential: r.credential, method: r.method, target: r.target, headers: authorization(tokens, r.credential) }));

/** A non-2xx answer is a catalogue error whose status is its code's, or node's own 400/431 for a request it could not parse. */
function checkAnswer(x: Exchange, a: Answer): void {
  check(a.status >= 200 && a.status < 500, () => `not a 2xx or 4xx: ${describe(x, a)}`);
  if (a.status < 300 || x.method === 'HEAD') return;
  if (!(a.headers['content-type'] ?? '').startsWith('application/json')) {
    check(a.status === 400 || a.status === 431, () => `a ${a.status} without a JSON error body: ${describe(x, a)}`);
    return;
  }
  checkCatalogueError(jsonOf(x, a), x, a);
}

/** Sends one request and checks the invariants; returns the answer. */
async function probe(x: Exchange, tally: Tally, key: string): Promise<Answer> {
  const a = await probeOnce({ registry: hub.hub.registry, endpoint, boundMs: ANSWER_BOUND_MS, checkAnswer }, x, x.method === 'GET' || x.method === 'HEAD', tally, key);
  // A token a case made is revoked at once, so a long run does not grow the tokens file.
  if (a.status === 201 && x.target.startsWith('/api/v1/auth/tokens')) {
    const id = (JSON.parse(a.body.toString('utf8')) as { data: { token: { id: string } } }).data.token.id;
    await hub.hub.tokens!.revoke(id);
  }
  return a;
}

test.serial('the fuzzed route list is every route the hub serves', (t) => {
  const metrics = hub.hub.metrics;
  const registry = hub.hub.registry;
  const served = [
    ...instanceRoutes(registry, metrics),
    discoverRoute(registry),
    ...namespaceRoutes(registry),
    ...serviceRoutes(registry),
    ...systemRoutes(metrics, () => true),
    ...tokenRoutes(undefined, systemClock),
    ...liveRoutes(registry, { clock: systemClock, heartbeatMs: 15_000, bufferBytes: 1 << 20 }),
  ].map((r) => `${r.method} ${r.pattern}`);
  t.deepEqual(ROUTES.map((r) => `${r.method} ${r.pattern}`).sort(), served.sort());
});

test.serial('every route, any body, query, path and credentials: a 2xx or a catalogue 4xx within the bound, and a refusal changes nothing', async (t) => {
  await fuzzEveryRoute(t, {
    cases: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...ROUTES).chain(requestFor) }, { weight: 1, arbitrary: oddTarget }),
    run: async (x, tally) => void (await probe(x, tally, x.route === undefined ? 'odd' : `${x.route.method} ${x.route.pattern}`)),
    keys: ROUTES.map((r) => `${r.method} ${r.pattern}`),
    coverageFrom: 1000,
    hub,
    endpoint,
    boundMs: ANSWER_BOUND_MS,
    options: { averageCaseMs: 30 },
  });
});

// ---- valid input is accepted ----

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/);
const tag = fc.stringMatching(/^[A-Za-z0-9._+-]{0,20}$/);
const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain().filter((d) => d.length <= 253));
const metadata = fc.dictionary(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,30}$/), fc.string({ unit: 'binary', maxLength: 40 }), { maxKeys: 8, noNullPrototype: true });
const health = fc.constantFrom('HEALTHY', 'healthy', 'UNHEALTHY', 'unknown', 'DRAINING', 'maintenance');

/** A registration the hub must accept, in AI-CORE's shape or ours, and where it must land. */
const validRegistration = fc
  .record({
    id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,40}$/).map((s) => `v-${s}`),
    service: label,
    namespace: fc.constantFrom('demo.local', 'other.local', 'valid.local'),
    address,
    port: fc.integer({ min: 1, max: 65535 }),
    protocol: fc.constantFrom('http', 'http2', 'grpc', 'tcp'),
    version: tag,
    zone: tag,
    weight: fc.integer({ min: 1, max: 1000 }),
    metadata,
    health,
    ttl: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 86_400 }), fc.constantFrom('30s', '1m', '0s')),
    aiCoreShape: fc.boolean(),
  })
  .map(({ aiCoreShape, service, ...rest }) => ({ ...rest, [aiCoreShape ? 'name' : 'service']: service }));

const validConfig = fc.record(
  {
    lb_policy: fc.constantFrom('round_robin', 'weighted', 'least_connections', 'random'),
    circuit_breakers: fc.record({ max_connections: fc.integer({ min: 1, max: 1_000_000 }), max_retries: fc.integer({ min: 0, max: 1_000_000 }) }, { requiredKeys: [] }),
    outlier_detection: fc.record({ enabled: fc.boolean(), consecutive_5xx: fc.integer({ min: 1, max: 1000 }), max_ejection_percent: fc.integer({ min: 0, max: 100 }) }, { requiredKeys: [] }),
    retry: fc.record({ num_retries: fc.integer({ min: 0, max: 10 }), retry_on: fc.subarray(['connect-failure', 'reset', '5xx', 'gateway-error', 'retriable-status-codes', 'unavailable']) }, { requiredKeys: [] }),
    timeout_ms: fc.integer({ min: 0, max: 3_600_000 }),
    panic_threshold_percent: fc.integer({ min: 0, max: 100 }),
  },
  { requiredKeys: [] },
);

test.serial('valid registrations, service configs, namespaces and lookups are accepted (2xx) and read back as sent', async (t) => {
  const tally = new Tally();
  const admin = { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' };
  const cases = fc.oneof(
    validRegistration.map((body) => ({ kind: 'register' as const, body })),
    fc.tuple(fc.constantFrom('demo.local', 'valid.local'), label, validConfig).map(([ns, svc, body]) => ({ kind: 'service' as const, ns, svc, body })),
    fc.tuple(label, label).map(([a, b]) => ({ kind: 'namespace' as const, name: `${a}.${b}.fz` })),
    fc.record({ service_name: fc.constantFrom('echo', 'echo.demo.local', 'api.other.local'), zone: tag.filter((z) => z !== ''), limit: fc.integer({ min: 1, max: 10_000 }), healthy_only: fc.boolean() }, { requiredKeys: ['service_name'] }).map((q) => ({ kind: 'discover' as const, q })),
  );
  await fuzz(
    t,
    fc.asyncProperty(cases, async (c) => {
      switch (c.kind) {
        case 'register': {
          const a = await probe({ method: 'POST', target: '/api/v1/services', headers: admin, body: json(c.body) }, tally, c.kind);
          check(a.status === 201 || a.status === 200, () => `registration refused: ${a.status} ${a.body.toString()} for ${JSON.stringify(c.body)}`);
          const inst = hub.hub.registry.getInstance(c.body.id)!;
          const sent = c.body as Record<string, unknown>;
          check(inst.service === (sent.name ?? sent.service) && inst.namespace === c.body.namespace && inst.address === c.body.address && inst.port === c.body.port, () => `registered as ${JSON.stringify(inst)}`);
          check(isDeepStrictEqual({ ...inst.metadata }, c.body.metadata), () => `metadata ${JSON.stringify(inst.metadata)} for ${JSON.stringify(c.body.metadata)}`);
          return;
        }
        case 'service': {
          const a = await probe({ method: 'PUT', target: `/api/v1/namespaces/${c.ns}/services/${c.svc}`, headers: admin, body: json(c.body) }, tally, c.kind);
          check(a.status === 201 || a.status === 200, () => `service config refused: ${a.status} ${a.body.toString()} for ${JSON.stringify(c.body)}`);
          check(hub.hub.registry.getService(c.ns, c.svc)?.config.lb_policy === (c.body.lb_policy ?? 'round_robin'), () => 'the config was not stored');
          return;
        }
        case 'namespace': {
          const a = await probe({ method: 'POST', target: '/api/v1/namespaces', headers: admin, body: json({ name: c.name }) }, tally, c.kind);
          // The same name may come up twice in a run; then it exists already.
          check(a.status === 201 || a.status === 409, () => `namespace refused: ${a.status} ${a.body.toString()}`);
          return;
        }
        case 'discover': {
          const query = Object.entries(c.q).map(([k, v]) => `${k}=${percentEncode(String(v))}`).join('&');
          const a = await probe({ method: 'GET', target: `/api/v1/discover?${query}`, headers: admin }, tally, c.kind);
          check(a.status === 200, () => `lookup refused: ${a.status} ${a.body.toString()}`);
          return;
        }
      }
    }),
    { averageCaseMs: 20 },
  );
  t.log(tally.toString());
  t.is(tally.get('4xx'), tally.get('namespace 4xx'), 'only a namespace made twice is refused');
});
