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
import { ERROR_KINDS } from '../../src/common/errors.js';
import type { HttpMethod } from '../../src/http/router.js';
import { discoverRoute } from '../../src/hub/rest-discover-route.js';
import { instanceRoutes } from '../../src/hub/rest-instance-routes.js';
import { namespaceRoutes } from '../../src/hub/rest-namespace-routes.js';
import { serviceRoutes } from '../../src/hub/rest-service-routes.js';
import { systemRoutes } from '../../src/hub/rest-system-routes.js';
import { tokenRoutes } from '../../src/hub/rest-token-routes.js';
import type { AuthHub } from '../helpers/auth-hub.js';
import { check, fuzz, mutatedObject, nastyJson, nastyKey, nastyString, rawBodies, Tally } from '../helpers/fuzz.js';
import { BAD_PERCENT, exchange, percentEncode, rawTargetText, type Answer, type Endpoint, type Exchange } from '../helpers/fuzz-http.js';
import { reseed, startFuzzHub, type FuzzTokens } from '../helpers/fuzz-registry.js';
import { registrySnapshot } from '../helpers/http-registry-snapshot.js';

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

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND'] as const;

type Credential = 'none' | 'admin' | 'operator' | 'viewer' | 'service' | 'other-operator' | 'unknown' | 'basic' | 'empty-bearer' | 'two-tokens';
const CREDENTIALS: readonly Credential[] = ['none', 'admin', 'operator', 'viewer', 'service', 'other-operator', 'unknown', 'basic', 'empty-bearer', 'two-tokens'];
/** Mostly tokens that may write, so requests reach past the access check into the handlers. */
const credential: fc.Arbitrary<Credential> = fc.oneof({ weight: 3, arbitrary: fc.constantFrom<Credential>('admin', 'operator') }, { weight: 2, arbitrary: fc.constantFrom(...CREDENTIALS) });

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

function authorization(c: Credential): Record<string, string> {
  switch (c) {
    case 'none':
      return {};
    case 'unknown':
      return { authorization: 'Bearer ort_nobody-issued-this' };
    case 'basic':
      return { authorization: 'Basic YWRtaW46YWRtaW4=' };
    case 'empty-bearer':
      return { authorization: 'Bearer ' };
    case 'two-tokens':
      return { authorization: `Bearer ${tokens.viewer} ${tokens.admin}` };
    default:
      return { authorization: `Bearer ${tokens[c]}` };
  }
}

/** A path segment: a known value, random text (encoded or raw), or a bad percent-encoding. */
const segment = (name: string): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...(PARAMS[name] ?? ['x'])).map(percentEncode) },
    { weight: 2, arbitrary: nastyString.map(percentEncode) },
    { weight: 1, arbitrary: nastyString.map(rawTargetText) },
    { weight: 1, arbitrary: fc.constantFrom(...BAD_PERCENT) },
  );

const queryPart = (names: readonly string[]): fc.Arbitrary<string> => {
  const key = fc.oneof(
    { weight: 4, arbitrary: names.length > 0 ? fc.constantFrom(...names) : fc.constant('x') },
    { weight: 1, arbitrary: fc.constantFrom('bogus', 'service_name', 'namespace', 'metadata.', 'metadata.__proto__', 'metadata.Bad Key') },
    { weight: 1, arbitrary: nastyKey },
  );
  const value = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...QUERY_VALUES) }, { weight: 1, arbitrary: nastyString });
  const pair = fc.tuple(key, value).map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`);
  return fc.oneof(
    { weight: names.length === 0 ? 8 : 2, arbitrary: fc.constant('') },
    { weight: 5, arbitrary: fc.array(pair, { minLength: 1, maxLength: 5 }).map((ps) => `?${ps.join('&')}`) },
    { weight: 1, arbitrary: fc.constantFrom('?', '?=', '?&&', '?a', '?%', '?a=%zz', '?%zz=1', '?limit=1e3', '?health=HEALTHY&health=UNKNOWN', '?ready=maybe') },
    { weight: 1, arbitrary: nastyString.map((s) => `?${rawTargetText(s)}`) },
  );
};

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v) ?? 'null');

const bodyFor = (route: FuzzRoute): fc.Arbitrary<Buffer | undefined> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 6, arbitrary: (route.body !== undefined ? mutatedObject(route.body) : nastyJson).map(json) },
    { weight: 1, arbitrary: nastyJson.map(json) },
    { weight: 2, arbitrary: rawBodies(route.body ?? {}) },
    // Over the 1 MiB limit: refused with 413 without being kept.
    { weight: 1, arbitrary: fc.integer({ min: 1_048_577, max: 1_500_000 }).map((n) => Buffer.concat([Buffer.from('{"a":"'), Buffer.alloc(n, 0x61), Buffer.from('"}')])) },
  );

/** The pattern with each `{param}` replaced by a generated segment. */
function pathFor(route: FuzzRoute): fc.Arbitrary<string> {
  const names = [...route.pattern.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
  if (names.length === 0) return fc.constant(route.pattern);
  return fc.tuple(...names.map(segment)).map((values) => {
    let i = 0;
    return route.pattern.replace(/\{[a-z_]+\}/g, () => values[i++]!);
  });
}

const requestFor = (route: FuzzRoute): fc.Arbitrary<Exchange & { credential: Credential; route: FuzzRoute }> =>
  fc
    .record({
      method: fc.oneof({ weight: 12, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      path: pathFor(route),
      query: queryPart(route.query ?? []),
      trailingSlash: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      body: bodyFor(route),
      contentType: fc.oneof({ weight: 4, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) }),
      chunked: fc.boolean(),
      credential,
    })
    .map((r) => ({
      route,
      credential: r.credential,
      method: r.method,
      target: `${r.path}${r.trailingSlash ? '/' : ''}${r.query}`,
      headers: { ...authorization(r.credential), ...(r.body !== undefined && r.contentType !== '' ? { 'content-type': r.contentType } : {}) },
      ...(r.body !== undefined ? { body: r.body } : {}),
      chunked: r.chunked,
    }));

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
  .map((r) => ({ route: undefined, credential: r.credential, method: r.method, target: r.target, headers: authorization(r.credential) }));

/** A non-2xx answer is a catalogue error whose status is its code's, or node's own 400/431 for a request it could not parse. */
function checkAnswer(x: Exchange, a: Answer): void {
  const label = (): string => `${x.method} ${x.target.slice(0, 200)} → ${a.status} ${a.body.toString('utf8', 0, 300)}`;
  check(a.status >= 200 && a.status < 500, () => `not a 2xx or 4xx: ${label()}`);
  if (a.status < 300 || x.method === 'HEAD') return;
  const type = a.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) {
    check(a.status === 400 || a.status === 431, () => `a ${a.status} without a JSON error body: ${label()}`);
    return;
  }
  let parsed: { error?: { code?: string; message?: unknown } };
  try {
    parsed = JSON.parse(a.body.toString('utf8')) as typeof parsed;
  } catch {
    throw new Error(`an error body that is not JSON: ${label()}`);
  }
  const code = parsed.error?.code;
  check(code !== undefined && code in ERROR_KINDS, () => `an error without a catalogue code: ${label()}`);
  check(ERROR_KINDS[code as keyof typeof ERROR_KINDS].http === a.status, () => `code ${code} answered with status ${a.status}: ${label()}`);
  check(typeof parsed.error?.message === 'string' && parsed.error.message !== '', () => `an error without a message: ${label()}`);
}

/** Sends one request and checks the invariants; returns the answer. */
async function probe(x: Exchange, tally: Tally, key: string): Promise<Answer> {
  reseed(hub.hub.registry);
  const before = registrySnapshot(hub.hub.registry);
  const a = await exchange(endpoint, x, ANSWER_BOUND_MS);
  checkAnswer(x, a);
  const after = registrySnapshot(hub.hub.registry);
  const isRead = x.method === 'GET' || x.method === 'HEAD';
  if (a.status >= 300 || isRead) {
    check(isDeepStrictEqual(before, after), () => `the registry changed on ${isRead ? 'a read' : `a refusal (${a.status})`}: ${x.method} ${x.target.slice(0, 200)} ${a.body.toString('utf8', 0, 300)}`);
  }
  tally.add(`${key} ${Math.floor(a.status / 100)}xx`);
  tally.add(`${Math.floor(a.status / 100)}xx`);
  // A token a case made is revoked at once, so a long run does not grow the tokens file.
  if (a.status === 201 && x.target.startsWith('/api/v1/auth/tokens')) {
    const id = (JSON.parse(a.body.toString('utf8')) as { data: { token: { id: string } } }).data.token.id;
    await hub.hub.tokens!.revoke(id);
  }
  return a;
}

async function hubStillAnswers(): Promise<number> {
  const a = await exchange(endpoint, { method: 'GET', target: '/health' }, ANSWER_BOUND_MS);
  return a.status;
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
  ].map((r) => `${r.method} ${r.pattern}`);
  t.deepEqual(ROUTES.map((r) => `${r.method} ${r.pattern}`).sort(), served.sort());
});

test.serial('every route, any body, query, path and credentials: a 2xx or a catalogue 4xx within the bound, and a refusal changes nothing', async (t) => {
  const tally = new Tally();
  const request = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...ROUTES).chain(requestFor) }, { weight: 1, arbitrary: oddTarget });
  const runs = await fuzz(
    t,
    fc.asyncProperty(request, async (x) => {
      await probe(x, tally, x.route === undefined ? 'odd' : `${x.route.method} ${x.route.pattern}`);
    }),
    { averageCaseMs: 30 },
  );
  t.log(tally.toString());
  t.is(await hubStillAnswers(), 200, 'the hub answers its health check after the run');
  t.deepEqual(hub.logs.filter((l) => l.level === 'error'), [], 'no handler failed');
  if (runs >= 1000) {
    // With this many cases every route is reached, and both sides of the edge are seen.
    for (const r of ROUTES) t.true(tally.get(`${r.method} ${r.pattern} 2xx`) + tally.get(`${r.method} ${r.pattern} 4xx`) > 0, `${r.method} ${r.pattern} was fuzzed`);
    t.true(tally.get('2xx') > 0 && tally.get('4xx') > 0, tally.toString());
  }
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
