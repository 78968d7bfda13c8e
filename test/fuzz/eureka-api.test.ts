/**
 * Fuzzing the hub's Eureka REST API (/eureka/v2) on a whole hub with auth on, over loopback:
 * every route, with random and structure-aware mutated registrations in JSON and in XML (entity
 * tricks, deep nesting, truncation included), query strings, path segments, content types,
 * Accept headers, and credentials of every role as Bearer or as Basic with the token as the
 * password. Whatever comes in, the hub answers within a bound with a 2xx or a 4xx (never a
 * 5xx), every error is `{"error": {code, message, field}}` (or its XML) with its code's status,
 * a read or a refusal leaves the registry exactly as it was, no handler logs an error, and the
 * hub still answers its health check afterwards.
 */
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import test from 'ava';
import fc from 'fast-check';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { systemClock } from '../../src/common/clock.js';
import { EurekaDelta } from '../../src/eureka/eureka-delta.js';
import { eurekaRoutes } from '../../src/eureka/eureka-handler.js';
import type { AuthHub } from '../helpers/auth-hub.js';
import { check, fuzz, mutatedObject, nastyJson, nastyKey, nastyString, Tally } from '../helpers/fuzz.js';
import { exchange, percentEncode, rawTargetText, type Answer, type Endpoint, type Exchange } from '../helpers/fuzz-http.js';
import { FUZZ_INSTANCES, startFuzzHub, type FuzzTokens } from '../helpers/fuzz-registry.js';
import { authorization, checkCatalogueError, credential, describe, fuzzEveryRoute, json, jsonBody, jsonOf, METHODS, oversizedBody, pathFor, probe as probeOnce, queryPart } from '../helpers/fuzz-request.js';

const ANSWER_BOUND_MS = 5000;
const PREFIX = '/eureka/v2';
/** The Eureka namespace is the fuzz registry's demo.local, so its services are apps (ECHO, IDLE). */
const NAMESPACE = 'demo.local';

const INSTANCE: Record<string, unknown> = {
  instanceId: 'fz-e1',
  hostName: 'fz-e1.example.internal',
  app: 'ECHO',
  ipAddr: '10.0.3.1',
  status: 'UP',
  port: { $: 8080, '@enabled': 'true' },
  securePort: { $: 8443, '@enabled': 'false' },
  vipAddress: 'echo',
  secureVipAddress: 'echo',
  homePageUrl: 'http://fz-e1.example.internal:8080/',
  statusPageUrl: 'http://fz-e1.example.internal:8080/info',
  healthCheckUrl: 'http://fz-e1.example.internal:8080/health',
  dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
  leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
  metadata: { team: 'a' },
};
const REGISTRATION = { instance: INSTANCE };

interface FuzzRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  pattern: string;
  query?: readonly string[];
  body?: true;
}

/** Every route of the Eureka API, under its prefix; a test below keeps this list equal to the handler's own. */
const ROUTES: readonly FuzzRoute[] = [
  { method: 'GET', pattern: '/apps', query: ['regions'] },
  { method: 'GET', pattern: '/apps/delta', query: ['regions'] },
  { method: 'GET', pattern: '/apps/{app}' },
  { method: 'POST', pattern: '/apps/{app}', body: true },
  { method: 'GET', pattern: '/apps/{app}/{id}' },
  { method: 'PUT', pattern: '/apps/{app}/{id}', query: ['status', 'lastDirtyTimestamp', 'overriddenstatus'] },
  { method: 'DELETE', pattern: '/apps/{app}/{id}' },
  { method: 'PUT', pattern: '/apps/{app}/{id}/status', query: ['value', 'lastDirtyTimestamp'] },
  { method: 'DELETE', pattern: '/apps/{app}/{id}/status', query: ['value', 'lastDirtyTimestamp'] },
  { method: 'GET', pattern: '/instances/{id}' },
  { method: 'GET', pattern: '/vips/{vip}' },
  { method: 'GET', pattern: '/svips/{vip}' },
];

const PARAMS: Record<string, readonly string[]> = {
  app: ['ECHO', 'echo', 'Echo', 'IDLE', 'API', 'NOPE', 'E_CHO', 'echo.demo'],
  id: [...FUZZ_INSTANCES.map((i) => i.id), 'fz-e1', 'nope-1'],
  vip: ['echo', 'ECHO', 'idle', 'nope', 'echo,idle', ''],
};

/** An app and one of its instances, so renewals, status changes and cancels reach the registry as often as refusals do. */
const knownInstancePath = (pattern: string): fc.Arbitrary<string> =>
  fc.constantFrom(['ECHO', 'echo-1'], ['echo', 'echo-2'], ['IDLE', 'echo-1']).map(([app, id]) => pattern.replace('{app}', app!).replace('{id}', id!));

const QUERY_VALUES = ['UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE', 'UNKNOWN', 'up', 'out_of_service', 'BOGUS', '1', '0', '1700000000000', 'us-east-1'];

/** The tree conventions the hub uses (Jackson's: attributes as `@name`, text as `$`). */
const TREE = { ignoreAttributes: false, attributeNamePrefix: '@', textNodeName: '$' } as const;
const xmlBuilder = new XMLBuilder({ ...TREE, suppressEmptyNode: false, suppressBooleanAttributes: false });
const xmlParser = new XMLParser({ ...TREE, parseTagValue: false, parseAttributeValue: false });

/** A JSON tree as XML; a tree the builder cannot write (odd keys) is sent as the text it managed, or a broken document. */
function toXml(tree: unknown): Buffer {
  try {
    return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>${xmlBuilder.build(tree) as string}`);
  } catch (err) {
    return Buffer.from(`<instance><app>${String(err).slice(0, 40)}</instance>`);
  }
}

/** Mutations inside the registration: the instance's fields, and those of its port, lease, data center and metadata. */
const mutatedRegistration: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: mutatedObject(INSTANCE).map((instance) => ({ instance })) },
  ...(['port', 'securePort', 'leaseInfo', 'dataCenterInfo', 'metadata'] as const).map((field) => ({
    weight: 1,
    arbitrary: mutatedObject(INSTANCE[field] as Record<string, unknown>).map((v) => ({ instance: { ...INSTANCE, [field]: v } })),
  })),
  { weight: 1, arbitrary: fc.tuple(nastyKey, nastyString).map(([k, v]) => ({ instance: { ...INSTANCE, metadata: { [k]: v } } })) },
  { weight: 1, arbitrary: mutatedObject(REGISTRATION) },
);

const VALID_XML = toXml(REGISTRATION).toString();

/** XML that is not what it claims: entities (internal, nested, external), deep nesting, truncation, bad bytes, DTDs, CDATA. */
const rawXml: fc.Arbitrary<Buffer> = fc.oneof(
  fc.integer({ min: 0, max: VALID_XML.length - 1 }).map((n) => Buffer.from(VALID_XML.slice(0, n))),
  fc.constant(Buffer.from(`<?xml version="1.0"?><!DOCTYPE instance [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><instance><app>ECHO</app><hostName>&d;</hostName></instance>`)),
  fc.constant(Buffer.from(`<?xml version="1.0"?><!DOCTYPE instance [<!ENTITY x SYSTEM "file:///etc/passwd">]><instance><hostName>&x;</hostName><port>8080</port></instance>`)),
  fc.constant(Buffer.from(VALID_XML.replace('<hostName>', '<hostName><![CDATA[a]]></hostName><hostName>'))),
  fc.constant(Buffer.from(VALID_XML.replace('<instance>', '<instance app="ECHO" app="IDLE">'))),
  fc.constant(Buffer.from(VALID_XML.replace('<metadata>', '<metadata><__proto__>x</__proto__><constructor><prototype>1</prototype></constructor>'))),
  fc.constant(Buffer.from(`<instance>&#0;&#x110000;&bogus;</instance>`)),
  fc.constant(Buffer.from(VALID_XML.replace('<port enabled="true">8080</port>', '<port>8080</port><port>9090</port>'))),
  fc.integer({ min: 100, max: 100_000 }).map((n) => Buffer.from(`<instance>${'<a>'.repeat(n)}${'</a>'.repeat(n)}</instance>`)),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.concat([Buffer.from('<instance><hostName>'), Buffer.from(b), Buffer.from('</hostName></instance>')])),
  nastyString.map((s) => Buffer.from(`<instance><hostName>${s}</hostName></instance>`)),
  nastyString.map((s) => Buffer.from(s)),
);

type BodyKind = 'json' | 'xml';

const bodyFor = (route: FuzzRoute): fc.Arbitrary<{ body: Buffer; kind: BodyKind } | undefined> =>
  route.body === undefined
    ? fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: jsonBody(undefined).map((b) => (b === undefined ? undefined : { body: b, kind: 'json' as const })) })
    : fc.oneof(
        { weight: 5, arbitrary: mutatedRegistration.map((v) => ({ body: json(v), kind: 'json' as const })) },
        { weight: 4, arbitrary: mutatedRegistration.map((v) => ({ body: toXml(v), kind: 'xml' as const })) },
        { weight: 2, arbitrary: rawXml.map((body) => ({ body, kind: 'xml' as const })) },
        { weight: 2, arbitrary: jsonBody(REGISTRATION).map((b) => (b === undefined ? undefined : { body: b, kind: 'json' as const })) },
        { weight: 1, arbitrary: nastyJson.map((v) => ({ body: toXml(v), kind: 'xml' as const })) },
        { weight: 1, arbitrary: oversizedBody.map((body) => ({ body, kind: 'xml' as const })) },
      );

const CONTENT_TYPES = { json: ['application/json', 'application/json; charset=utf-8', 'application/vnd.netflix+json'], xml: ['application/xml', 'text/xml', 'application/xml; charset=UTF-8'] } as const;
const ODD_CONTENT_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', '*/*', ''] as const;
const ACCEPTS = ['application/json', 'application/xml', 'text/xml', 'application/xml, application/json', '*/*', ''] as const;

let hub: AuthHub;
let endpoint: Endpoint;
let tokens: FuzzTokens;

test.before(async () => {
  ({ hub, tokens } = await startFuzzHub({ eureka: { namespace: NAMESPACE, prefix: PREFIX } }));
  endpoint = { port: hub.addresses.httpPort, agent: new http.Agent({ keepAlive: true, maxSockets: 4 }) };
});

test.after.always(async () => {
  endpoint?.agent.destroy();
  await hub?.close();
});


const requestFor = (route: FuzzRoute): fc.Arbitrary<Exchange & { route: FuzzRoute }> =>
  fc
    .record({
      method: fc.oneof({ weight: 12, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      path: route.pattern.includes('{app}/{id}') ? fc.oneof(pathFor(route.pattern, PARAMS), knownInstancePath(route.pattern)) : pathFor(route.pattern, PARAMS),
      query: queryPart(route.query ?? [], QUERY_VALUES, { keys: ['value', 'regions'], queries: ['?value=', '?value=UP&value=DOWN'] }),
      trailingSlash: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      body: bodyFor(route),
      oddType: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_CONTENT_TYPES) }),
      typeOf: fc.nat(),
      accept: fc.constantFrom(...ACCEPTS),
      chunked: fc.boolean(),
      credential,
      asBasic: fc.boolean(),
    })
    .map((r) => {
      const types = CONTENT_TYPES[r.body?.kind ?? 'json'];
      const contentType = r.oddType ?? types[r.typeOf % types.length]!;
      return {
        route,
        method: r.method,
        target: `${PREFIX}${r.path}${r.trailingSlash ? '/' : ''}${r.query}`,
        headers: {
          ...authorization(tokens, r.credential, r.asBasic ? 'basic-password' : 'bearer'),
          ...(r.accept !== '' ? { accept: r.accept } : {}),
          ...(r.body !== undefined && contentType !== '' ? { 'content-type': contentType } : {}),
        },
        ...(r.body !== undefined ? { body: r.body.body } : {}),
        chunked: r.chunked,
      };
    });

/** Paths under the prefix that are no route, or are one spelled oddly. */
const oddTarget: fc.Arbitrary<Exchange & { route: undefined }> = fc
  .record({
    target: fc.oneof(
      fc.constantFrom(PREFIX, `${PREFIX}/`, `${PREFIX}?x=1`, `${PREFIX}//apps`, `${PREFIX}/apps/ECHO/echo-1/metadata`, `${PREFIX}/apps/ECHO/echo-1/status/x`, `${PREFIX}/../api/v1/services`, `${PREFIX}/apps/%2e%2e`, `${PREFIX}/peerreplication/batch`),
      nastyString.map((s) => `${PREFIX}/${rawTargetText(s)}`),
      nastyString.map((s) => `${PREFIX}/apps/${percentEncode(s)}/${percentEncode(s)}/status`),
    ),
    method: fc.constantFrom(...METHODS),
    accept: fc.constantFrom(...ACCEPTS),
    credential,
    asBasic: fc.boolean(),
  })
  .map((r) => ({ route: undefined, method: r.method, target: r.target, headers: { ...authorization(tokens, r.credential, r.asBasic ? 'basic-password' : 'bearer'), ...(r.accept !== '' ? { accept: r.accept } : {}) } }));

/** The body as the format its content type names. */
function parsedBody(x: Exchange, a: Answer): unknown {
  const type = a.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) return jsonOf(x, a);
  check(type.startsWith('application/xml'), () => `a body that is neither JSON nor XML: ${describe(x, a)}`);
  const text = a.body.toString('utf8');
  check(text.startsWith('<?xml'), () => `XML without its declaration: ${describe(x, a)}`);
  return xmlParser.parse(text, true) as unknown;
}

/** A 2xx is 200 (with JSON or XML, as asked) or 204; an error is a catalogue error, in the format asked for, with its code's status. */
function checkAnswer(x: Exchange, a: Answer): void {
  check(a.status >= 200 && a.status < 500, () => `not a 2xx or 4xx: ${describe(x, a)}`);
  if (x.method === 'HEAD') return;
  if (a.status < 300) {
    if (a.body.length > 0) parsedBody(x, a);
    return;
  }
  // node's own answer to a request it could not parse, before the hub sees it.
  if ((a.status === 400 || a.status === 431) && a.headers['content-type'] === undefined) return;
  const accept = (x.headers?.accept ?? '').toLowerCase();
  const wantsXml = accept.includes('xml') && !accept.includes('json');
  check((a.headers['content-type'] ?? '').startsWith(wantsXml ? 'application/xml' : 'application/json'), () => `an error not in the format asked for (${accept}): ${describe(x, a)}`);
  checkCatalogueError(parsedBody(x, a), x, a);
  if (a.status === 401) check(a.headers['www-authenticate'] !== undefined, () => `a 401 without WWW-Authenticate: ${describe(x, a)}`);
}

const eurekaProbe = (x: Exchange, tally: Tally, key: string): Promise<Answer> =>
  probeOnce({ registry: hub.hub.registry, endpoint, boundMs: ANSWER_BOUND_MS, checkAnswer }, x, x.method === 'GET' || x.method === 'HEAD', tally, key);

test.serial('the fuzzed route list is every route of the Eureka API', (t) => {
  const registry = hub.hub.registry;
  const delta = new EurekaDelta(registry, NAMESPACE, systemClock, 1000, 10);
  t.teardown(() => delta.close());
  const served = eurekaRoutes({ registry, delta, namespace: NAMESPACE, registrationCheck: () => () => undefined, registered: () => undefined }).map(([method, pattern]) => `${method} ${pattern}`);
  t.deepEqual(ROUTES.map((r) => `${r.method} ${r.pattern}`).sort(), served.sort());
});

test.serial('every Eureka route, any JSON or XML body, query, path and credentials: a 2xx or an error in Eureka’s shape within the bound, and a refusal changes nothing', async (t) => {
  await fuzzEveryRoute(t, {
    cases: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...ROUTES).chain(requestFor) }, { weight: 1, arbitrary: oddTarget }),
    run: async (x, tally) => void (await eurekaProbe(x, tally, x.route === undefined ? 'odd' : `${x.route.method} ${x.route.pattern}`)),
    keys: ROUTES.map((r) => `${r.method} ${r.pattern}`),
    coverageFrom: 300,
    hub,
    endpoint,
    boundMs: ANSWER_BOUND_MS,
    options: { averageCaseMs: 30, share: 0.2 },
  });
});

// ---- valid input is accepted ----

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/);
const STATUS_BACK: Record<string, string> = { UP: 'UP', DOWN: 'DOWN', STARTING: 'STARTING', OUT_OF_SERVICE: 'OUT_OF_SERVICE', UNKNOWN: 'STARTING' };

/** A registration a Eureka client sends (in XML its values are text, so they are kept to what text round-trips). */
const validRegistration = fc.record({
  service: label,
  instanceId: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,40}$/),
  hostName: fc.domain().filter((d) => d.length <= 253),
  ipAddr: fc.ipV4(),
  port: fc.integer({ min: 1, max: 65535 }),
  status: fc.constantFrom(...Object.keys(STATUS_BACK)),
  durationInSecs: fc.integer({ min: 1, max: 86_400 }),
  metadata: fc.dictionary(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,20}$/), fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/), { maxKeys: 6, noNullPrototype: true }),
  xml: fc.boolean(),
});

test.serial('valid Eureka registrations, JSON or XML, are accepted (204) and read back as sent', async (t) => {
  const tally = new Tally();
  let n = 0;
  await fuzz(
    t,
    fc.asyncProperty(validRegistration, async (v) => {
      // A fresh id each case: an id seen before may carry an OUT_OF_SERVICE override, which a registration keeps.
      const id = `${v.instanceId}-${n++}`;
      const app = v.service.toUpperCase();
      const instance = { instanceId: id, hostName: v.hostName, app, ipAddr: v.ipAddr, status: v.status, port: { $: v.port, '@enabled': 'true' }, dataCenterInfo: INSTANCE.dataCenterInfo, leaseInfo: { durationInSecs: v.durationInSecs }, metadata: v.metadata };
      const body = v.xml ? toXml({ instance }) : json({ instance });
      const headers = { authorization: `Bearer ${tokens.admin}`, 'content-type': v.xml ? 'application/xml' : 'application/json' };
      const a = await eurekaProbe({ method: 'POST', target: `${PREFIX}/apps/${app}`, headers, body }, tally, 'register');
      check(a.status === 204, () => `registration refused: ${a.status} ${a.body.toString()} for ${body.toString()}`);
      // Read at once, without the put-back a probe starts with (it may trim what was just registered).
      const readX: Exchange = { method: 'GET', target: `${PREFIX}/apps/${app}/${percentEncode(id)}`, headers: { authorization: `Bearer ${tokens.admin}`, accept: 'application/json' } };
      const read = await exchange(endpoint, readX, ANSWER_BOUND_MS);
      checkAnswer(readX, read);
      check(read.status === 200, () => `read refused: ${describe(readX, read)}`);
      const got = (JSON.parse(read.body.toString()) as { instance: Record<string, unknown> }).instance;
      check(got.app === app && got.hostName === v.hostName && got.ipAddr === v.ipAddr && (got.port as { $: number }).$ === v.port, () => `read back ${JSON.stringify(got)} for ${body.toString()}`);
      check(got.status === STATUS_BACK[v.status], () => `status ${String(got.status)} for ${v.status}`);
      check((got.leaseInfo as { durationInSecs: number }).durationInSecs === v.durationInSecs, () => `lease ${JSON.stringify(got.leaseInfo)} for ${v.durationInSecs}`);
      check(isDeepStrictEqual(got.metadata, { ...v.metadata }), () => `metadata ${JSON.stringify(got.metadata)} for ${JSON.stringify(v.metadata)}`);
    }),
    { averageCaseMs: 40, share: 0.1 },
  );
  t.log(tally.toString());
  t.is(tally.get('4xx'), 0, 'nothing valid is refused');
});
