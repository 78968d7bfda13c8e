/**
 * Fuzzing the hub's Consul HTTP API (/v1/) on a whole hub with auth on, over loopback: every
 * route, with random and mutated registrations and check updates, query strings (blocking reads
 * kept short), path segments, content types, and tokens of every role in X-Consul-Token or
 * Authorization. Whatever comes in, the hub answers within a bound, never with a 5xx but
 * Consul's documented 500 "No path to datacenter" for another `dc`, every error is Consul's plain
 * text with one of its status codes, a read or a refusal leaves the registry exactly as it was,
 * no handler logs an error, and the hub still answers its health check afterwards.
 */
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import test from 'ava';
import fc from 'fast-check';
import { AGENT_ROUTES } from '../../src/consul/consul-agent-routes.js';
import { READ_ROUTES } from '../../src/consul/consul-read-routes.js';
import type { AuthHub } from '../helpers/auth-hub.js';
import { check, fuzz, nastyString, Tally } from '../helpers/fuzz.js';
import { exchange, percentEncode, rawTargetText, type Answer, type Endpoint, type Exchange } from '../helpers/fuzz-http.js';
import { FUZZ_INSTANCES, startFuzzHub, type FuzzTokens, type SeedInstance } from '../helpers/fuzz-registry.js';
import { authorization, credential, describe, fuzzEveryRoute, json, jsonBody, jsonOf, METHODS, pathFor, probe as probeOnce, queryPart } from '../helpers/fuzz-request.js';

const ANSWER_BOUND_MS = 5000;
const DATACENTER = 'dc1';

interface FuzzRoute {
  method: 'GET' | 'PUT';
  pattern: string;
  query?: readonly string[];
  /** A valid body, the seed of structure-aware mutations. */
  body?: Record<string, unknown>;
}

// `dc` comes up among the odd keys: any other datacenter is answered 500 before the route runs.
const BLOCKING = ['index', 'wait', 'ns', 'partition'];
const SERVICE_READ = [...BLOCKING, 'tag', 'filter', 'passing', 'near'];

/** Every route of the Consul API; a test below keeps this list equal to the handler's own. */
const ROUTES: readonly FuzzRoute[] = [
  {
    method: 'PUT',
    pattern: '/v1/agent/service/register',
    query: ['ns', 'partition'],
    body: {
      Name: 'web',
      ID: 'web-9',
      Tags: ['v1', 'primary'],
      Address: '10.0.2.9',
      Port: 8080,
      Meta: { team: 'a' },
      Weights: { Passing: 10, Warning: 1 },
      Check: { CheckID: 'web-9-ttl', TTL: '15s', DeregisterCriticalServiceAfter: '1m', Status: 'passing' },
      Checks: [{ Name: 'http', HTTP: 'http://10.0.2.9:8080/health', Interval: '10s', Timeout: '2s' }],
      Namespace: 'demo.local',
    },
  },
  { method: 'PUT', pattern: '/v1/agent/service/deregister/{id}', query: ['ns'] },
  { method: 'PUT', pattern: '/v1/agent/check/pass/{check}', query: ['note'] },
  { method: 'PUT', pattern: '/v1/agent/check/warn/{check}', query: ['note'] },
  { method: 'PUT', pattern: '/v1/agent/check/fail/{check}', query: ['note'] },
  { method: 'PUT', pattern: '/v1/agent/check/update/{check}', body: { Status: 'warning', Output: 'slow' } },
  { method: 'GET', pattern: '/v1/agent/self' },
  { method: 'GET', pattern: '/v1/status/leader' },
  { method: 'GET', pattern: '/v1/status/peers' },
  { method: 'GET', pattern: '/v1/health/service/{service}', query: SERVICE_READ },
  { method: 'GET', pattern: '/v1/catalog/service/{service}', query: SERVICE_READ },
  { method: 'GET', pattern: '/v1/catalog/services', query: BLOCKING },
  { method: 'GET', pattern: '/v1/catalog/nodes', query: BLOCKING },
];

/** An instance with Consul's tags and checks (a TTL check and an HTTP one), so check updates reach the handler. */
const WEB: SeedInstance = {
  id: 'web-1',
  service: 'web',
  namespace: 'demo.local',
  address: '10.0.2.1',
  port: 8080,
  ttl: 0,
  metadata: {
    team: 'a',
    'consul.tags': JSON.stringify(['v1', 'primary']),
    'consul.checks': JSON.stringify([
      { id: 'web-1-ttl', name: 'ttl', type: 'ttl', status: 'passing' },
      { id: 'web-1-http', name: 'http', type: 'http', status: 'passing' },
    ]),
  },
};
const SEEDS = [WEB];

const PARAMS: Record<string, readonly string[]> = {
  id: [...FUZZ_INSTANCES.map((i) => i.id), 'web-1', 'nope-1'],
  check: ['web-1-ttl', 'web-1-http', 'service:web-1', 'nope'],
  service: ['echo', 'idle', 'api', 'web', 'nope', 'Echo'],
};

const QUERY_VALUES = [
  'demo.local',
  'other.local',
  'default',
  DATACENTER,
  'dc2',
  'v1',
  'primary',
  'true',
  'false',
  '1',
  '0',
  '10ms',
  '1ms',
  '0s',
  'Service.ID == "web-1"',
  '"v1" in Service.Tags',
  'Service.Meta.team != "b" and Service.Port == "8080"',
  'ServiceMeta.__proto__ == "x"',
  'Service.Tags == "v1" or Service.ID == "x"',
  '_agent',
];

/** A blocking read waits at most this long, so no case blocks the bound. */
const SHORT_WAIT = '20ms';

let hub: AuthHub;
let endpoint: Endpoint;
let tokens: FuzzTokens;

test.before(async () => {
  ({ hub, tokens } = await startFuzzHub({ consul: { default_namespace: 'demo.local', datacenter: DATACENTER } }));
  endpoint = { port: hub.addresses.httpPort, agent: new http.Agent({ keepAlive: true, maxSockets: 4 }) };
});

test.after.always(async () => {
  endpoint?.agent.destroy();
  await hub?.close();
});


/**
 * A target whose query names an `index` gets a short `wait` first (the first value is the one
 * read), so a read whose index is current answers within the bound instead of after 5 minutes.
 */
function bounded(target: string): string {
  const q = target.indexOf('?');
  if (q < 0 || !new URLSearchParams(target.slice(q + 1)).has('index')) return target;
  return `${target.slice(0, q)}?wait=${SHORT_WAIT}&${target.slice(q + 1)}`;
}

const CONTENT_TYPES = ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/xml', ''] as const;

const requestFor = (route: FuzzRoute): fc.Arbitrary<Exchange & { route: FuzzRoute }> =>
  fc
    .record({
      method: fc.oneof({ weight: 12, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      path: pathFor(route.pattern, PARAMS),
      query: queryPart(route.query ?? [], QUERY_VALUES, { keys: ['index', 'dc', 'token', 'stale', 'consistent'], queries: ['?index=1', '?index=-1', '?index=99999999999999999999', '?dc=', '?dc=DC1', '?passing&tag=v1&tag=nope', '?filter=', '?wait=1x'] }),
      trailingSlash: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      body: jsonBody(route.body),
      contentType: fc.oneof({ weight: 4, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) }),
      chunked: fc.boolean(),
      credential,
      inConsulHeader: fc.boolean(),
    })
    .map((r) => ({
      route,
      method: r.method,
      target: bounded(`${r.path}${r.trailingSlash ? '/' : ''}${r.query}`),
      headers: { ...authorization(tokens, r.credential, r.inConsulHeader ? 'x-consul-token' : 'bearer'), ...(r.body !== undefined && r.contentType !== '' ? { 'content-type': r.contentType } : {}) },
      ...(r.body !== undefined ? { body: r.body } : {}),
      chunked: r.chunked,
    }));

/** Paths under /v1/ that are not routes of the hub, or are routes spelled oddly. */
const oddTarget: fc.Arbitrary<Exchange & { route: undefined }> = fc
  .record({
    target: fc.oneof(
      fc.constantFrom('/v1/', '/v1//agent/self', '/v1/kv/a', '/v1/agent/services', '/v1/catalog/register', '/v1/health/checks/web', '/v1/agent/service/deregister/', '/v1/agent/check/pass/', '/v1/catalog/service/a/b', '/v1/../v1/agent/self', '/v1/acl/token/self', '/v1/agent/self?dc=dc2'),
      nastyString.map((s) => `/v1/${rawTargetText(s)}`),
      nastyString.map((s) => `/v1/catalog/${percentEncode(s)}`),
    ),
    method: fc.constantFrom(...METHODS),
    credential,
    inConsulHeader: fc.boolean(),
  })
  .map((r) => ({ route: undefined, method: r.method, target: bounded(r.target), headers: authorization(tokens, r.credential, r.inConsulHeader ? 'x-consul-token' : 'bearer') }));

/** Consul's own statuses for refusals (README, "Tokens and errors"); 500 only for another datacenter. */
const CONSUL_STATUSES = new Set([400, 403, 404, 405, 409, 413, 429]);

function otherDatacenter(target: string): boolean {
  const dc = new URL(target, 'http://hub').searchParams.get('dc');
  return dc !== null && dc !== '' && dc !== DATACENTER;
}

/** A 2xx is JSON (or empty, for a write); an error is Consul's: plain text with one of its statuses. */
function checkAnswer(x: Exchange, a: Answer): void {
  const type = a.headers['content-type'] ?? '';
  if (a.status >= 200 && a.status < 300) {
    if (x.method === 'HEAD') return;
    if (a.body.length === 0) return check(x.method === 'PUT', () => `an empty answer to a read: ${describe(x, a)}`);
    check(type.startsWith('application/json'), () => `a 2xx that is not JSON: ${describe(x, a)}`);
    jsonOf(x, a);
    return;
  }
  // node's own answer to a request it could not parse, before the hub sees it.
  if ((a.status === 400 || a.status === 431) && type === '') return;
  if (a.status === 500) {
    check(otherDatacenter(x.target) && (x.method === 'HEAD' || a.body.toString().startsWith('No path to datacenter')), () => `a 500 that is not "No path to datacenter": ${describe(x, a)}`);
  } else {
    check(CONSUL_STATUSES.has(a.status), () => `not one of Consul's statuses: ${describe(x, a)}`);
  }
  check(type.startsWith('text/plain'), () => `an error that is not plain text: ${describe(x, a)}`);
  check(x.method === 'HEAD' || a.body.length > 0, () => `an error without a message: ${describe(x, a)}`);
}

const consulProbe = (x: Exchange, tally: Tally, key: string): Promise<Answer> =>
  probeOnce({ registry: hub.hub.registry, endpoint, boundMs: ANSWER_BOUND_MS, checkAnswer, seeds: SEEDS }, x, x.method === 'GET' || x.method === 'HEAD', tally, key);

test.serial('the fuzzed route list is every route of the Consul API', (t) => {
  const served = Object.entries({ ...AGENT_ROUTES, ...READ_ROUTES }).map(([path, r]) => `${r.method} /v1/${path}`);
  const fuzzed = ROUTES.map((r) => `${r.method} ${r.pattern.replace(/\{[a-z_]+\}$/, ':')}`);
  t.deepEqual(fuzzed.sort(), served.sort());
});

test.serial('every Consul route, any body, query, path and token: an answer within the bound in Consul’s shape, no 5xx but another dc’s, and a refusal changes nothing', async (t) => {
  await fuzzEveryRoute(t, {
    cases: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...ROUTES).chain(requestFor) }, { weight: 1, arbitrary: oddTarget }),
    run: async (x, tally) => void (await consulProbe(x, tally, x.route === undefined ? 'odd' : `${x.route.method} ${x.route.pattern}`)),
    keys: ROUTES.map((r) => `${r.method} ${r.pattern}`),
    coverageFrom: 300,
    hub,
    endpoint,
    boundMs: ANSWER_BOUND_MS,
    options: { averageCaseMs: 30, share: 0.2 },
  });
  t.is(hub.hub.consulBlockingQueries, 0, 'no blocking read is left waiting');
});

// ---- valid input is accepted ----

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/);
const tags = fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9._+-]{1,20}$/), { maxLength: 5 });
const meta = fc.dictionary(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,29}$/), fc.string({ unit: 'binary', maxLength: 40 }), { maxKeys: 6, noNullPrototype: true });

/** A registration Consul clients send, and the namespace it must land in. */
const validRegistration = fc.record(
  {
    Name: label,
    ID: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,40}$/).map((s) => `c-${s}`),
    Tags: tags,
    Address: fc.oneof(fc.ipV4(), fc.ipV6()),
    Port: fc.integer({ min: 1, max: 65535 }),
    Meta: meta,
    Weights: fc.record({ Passing: fc.integer({ min: 1, max: 1000 }) }),
    Check: fc.oneof(
      fc.record({ TTL: fc.constantFrom('1s', '15s', '1m30s', '24h'), Status: fc.constantFrom('passing', 'warning', 'critical') }, { requiredKeys: ['TTL'] }),
      fc.record({ HTTP: fc.constant('http://10.0.0.1:8080/health'), Interval: fc.constantFrom('10s', '1m') }),
    ),
    Namespace: fc.constantFrom('demo.local', 'other.local', 'valid.local', 'default'),
  },
  { requiredKeys: ['Name', 'ID', 'Address', 'Port'] },
);

test.serial('valid Consul registrations are accepted (200) and read back from the catalog as sent', async (t) => {
  const tally = new Tally();
  const admin = { 'x-consul-token': tokens.admin, 'content-type': 'application/json' };
  await fuzz(
    t,
    fc.asyncProperty(validRegistration, async (reg) => {
      const a = await consulProbe({ method: 'PUT', target: '/v1/agent/service/register', headers: admin, body: json(reg) }, tally, 'register');
      check(a.status === 200, () => `registration refused: ${a.status} ${a.body.toString()} for ${JSON.stringify(reg)}`);
      const ns = reg.Namespace === undefined || reg.Namespace === 'default' ? 'demo.local' : reg.Namespace;
      // Read at once, without the put-back a probe starts with (it may trim what was just registered).
      const readX: Exchange = { method: 'GET', target: `/v1/catalog/service/${reg.Name}?ns=${ns}&filter=${percentEncode(`ServiceID == "${reg.ID}"`)}`, headers: admin };
      const read = await exchange(endpoint, readX, ANSWER_BOUND_MS);
      checkAnswer(readX, read);
      check(read.status === 200, () => `read refused: ${describe(readX, read)}`);
      const entries = JSON.parse(read.body.toString()) as Array<Record<string, unknown>>;
      check(entries.length === 1, () => `read back ${entries.length} entries for ${JSON.stringify(reg)}`);
      const e = entries[0]!;
      check(e.ServiceName === reg.Name && e.ServiceAddress === reg.Address && e.ServicePort === reg.Port, () => `read back ${JSON.stringify(e)} for ${JSON.stringify(reg)}`);
      check(isDeepStrictEqual(e.ServiceTags, reg.Tags ?? []), () => `tags ${JSON.stringify(e.ServiceTags)} for ${JSON.stringify(reg.Tags)}`);
      check(isDeepStrictEqual(e.ServiceMeta, { ...reg.Meta }), () => `meta ${JSON.stringify(e.ServiceMeta)} for ${JSON.stringify(reg.Meta)}`);
      check((e.ServiceWeights as { Passing?: number } | undefined)?.Passing === (reg.Weights?.Passing ?? 100), () => `weights ${JSON.stringify(e.ServiceWeights)} for ${JSON.stringify(reg.Weights)}`);
    }),
    { averageCaseMs: 40, share: 0.1 },
  );
  t.log(tally.toString());
  t.is(tally.get('4xx'), 0, 'nothing valid is refused');
});
