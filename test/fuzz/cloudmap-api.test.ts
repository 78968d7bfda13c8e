/**
 * Fuzzing the hub's AWS Cloud Map API (`POST /` with X-Amz-Target) on a whole hub with auth on,
 * over loopback: every operation, with random and structure-aware mutated inputs (ids and ARNs
 * of what exists, of what does not, of another region), unknown operations, content types, and
 * credentials of every role signed with Signature V4, as well as broken signatures (unsigned,
 * unknown key, wrong secret or region, stale date, a body or target the signature does not
 * cover) and bearer tokens. Whatever comes in, the hub answers within a bound with a 200 or a
 * 400/403 (never a 5xx), every error is AWS's JSON error with a `__type` of the API and its
 * status, a read or a refusal leaves the registry exactly as it was, no handler logs an error,
 * and the hub still answers its health check afterwards.
 */
import { rmSync } from 'node:fs';
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import test from 'ava';
import fc from 'fast-check';
import { CLOUDMAP_ERRORS } from '../../src/cloudmap/cloudmap-errors.js';
import { CLOUDMAP_OPERATIONS, TARGET_PREFIX } from '../../src/cloudmap/cloudmap-handler.js';
import { namespaceArn, namespaceId, serviceArn, serviceId } from '../../src/cloudmap/cloudmap-ids.js';
import type { AuthHub } from '../helpers/auth-hub.js';
import { ACCOUNT_ID, ADMIN_KEY, cloudMapConfig, DEMO_OPERATOR, OTHER_OPERATOR, REGION, type TestKey } from '../helpers/cloudmap-hub.js';
import { check, fuzz, mutatedObject, nastyString, Tally } from '../helpers/fuzz.js';
import { exchange, rawTargetText, type Answer, type Endpoint, type Exchange } from '../helpers/fuzz-http.js';
import { FUZZ_INSTANCES, startFuzzHub, type FuzzTokens } from '../helpers/fuzz-registry.js';
import { describe, fuzzEveryRoute, json, jsonBody, jsonOf, probe as probeOnce } from '../helpers/fuzz-request.js';

const ANSWER_BOUND_MS = 5000;
const CONTENT_TYPE = 'application/x-amz-json-1.1';

const VIEWER_KEY: TestKey = { id: 'AKIAOUTRIGGERVIEW001', secret: 'viewSecretKey0123456789abcdefghijklmnopq', role: 'viewer', scopes: ['demo.local'] };
const SERVICE_KEY: TestKey = { id: 'AKIAOUTRIGGERSERV001', secret: 'servSecretKey0123456789abcdefghijklmnopq', role: 'service', scopes: ['demo.local/echo'] };
const KEYS = [ADMIN_KEY, DEMO_OPERATOR, OTHER_OPERATOR, VIEWER_KEY, SERVICE_KEY];

const ARN = { region: REGION, accountId: ACCOUNT_ID };
const NS = { demo: namespaceId('demo.local'), other: namespaceId('other.local'), empty: namespaceId('empty.local'), nope: namespaceId('nope.local') };
const SVC = { echo: serviceId('demo.local', 'echo'), idle: serviceId('demo.local', 'idle'), api: serviceId('other.local', 'api'), nope: serviceId('demo.local', 'nope') };

/** Ids and ARNs a field may be swapped for: of what exists, what does not, and of another region or account. */
const ID_POOL = [
  ...Object.values(NS),
  ...Object.values(SVC),
  namespaceArn(ARN, NS.demo),
  serviceArn(ARN, SVC.echo),
  serviceArn(ARN, SVC.api),
  serviceArn({ region: 'us-east-1', accountId: ACCOUNT_ID }, SVC.echo),
  namespaceArn({ region: REGION, accountId: '000000000000' }, NS.demo),
  'arn:aws:servicediscovery:eu-west-1:123456789012:service/',
  'arn:',
  'ns-',
  'srv-aaaaaaaaaaaaaaaa',
  ...FUZZ_INSTANCES.map((i) => i.id),
  'demo.local',
  'echo',
];

/** Stands for the id of the latest operation an accepted write returned (ids are random, so none can be written down). */
const LATEST_OPERATION = '(latest operation)';
let latestOperation = 'abcdefghijklmnopqrstuvwxyz234567-abcdefgh';

/** A valid input of each operation, the seed of structure-aware mutations; a test keeps the names equal to the API's. */
const OPERATIONS: Readonly<Record<string, Record<string, unknown>>> = {
  CreateHttpNamespace: { Name: 'fz.local', CreatorRequestId: 'fz-req-1', Description: 'made by a fuzz case', Tags: [{ Key: 'team', Value: 'a' }] },
  CreatePrivateDnsNamespace: { Name: 'fzp.local', Vpc: 'vpc-0123', CreatorRequestId: 'fz-req-2', Properties: { DnsProperties: { SOA: { TTL: 60 } } } },
  CreatePublicDnsNamespace: { Name: 'public.example.com' },
  GetNamespace: { Id: NS.demo },
  ListNamespaces: { MaxResults: 10, Filters: [{ Name: 'TYPE', Values: ['HTTP'], Condition: 'EQ' }] },
  DeleteNamespace: { Id: NS.empty },
  CreateService: { Name: 'fzs', NamespaceId: NS.demo, CreatorRequestId: 'fz-req-3', Description: 'd', HealthCheckCustomConfig: { FailureThreshold: 1 }, Tags: [{ Key: 'k', Value: 'v' }] },
  GetService: { Id: SVC.echo },
  ListServices: { MaxResults: 5, Filters: [{ Name: 'NAMESPACE_ID', Values: [NS.demo], Condition: 'EQ' }] },
  UpdateService: { Id: SVC.echo, Service: { Description: 'changed', HealthCheckConfig: { Type: 'HTTP', ResourcePath: '/health', FailureThreshold: 2 } } },
  DeleteService: { Id: SVC.idle },
  RegisterInstance: { ServiceId: SVC.echo, InstanceId: 'fz-c1', CreatorRequestId: 'fz-req-4', Attributes: { AWS_INSTANCE_IPV4: '10.0.4.1', AWS_INSTANCE_PORT: '8080', AWS_INIT_HEALTH_STATUS: 'HEALTHY', ECS_CLUSTER: 'c1' } },
  DeregisterInstance: { ServiceId: SVC.echo, InstanceId: 'echo-1' },
  GetInstance: { ServiceId: SVC.echo, InstanceId: 'echo-2' },
  ListInstances: { ServiceId: SVC.echo, MaxResults: 1 },
  GetInstancesHealthStatus: { ServiceId: SVC.echo, Instances: ['echo-1', 'echo-2'], MaxResults: 10 },
  UpdateInstanceCustomHealthStatus: { ServiceId: SVC.echo, InstanceId: 'echo-1', Status: 'UNHEALTHY' },
  DiscoverInstances: { NamespaceName: 'demo.local', ServiceName: 'echo', MaxResults: 10, QueryParameters: { team: 'a' }, OptionalParameters: { zone: 'z1' }, HealthStatus: 'HEALTHY_OR_ELSE_ALL' },
  DiscoverInstancesRevision: { NamespaceName: 'demo.local', ServiceName: 'echo' },
  GetOperation: { OperationId: LATEST_OPERATION },
  ListOperations: { MaxResults: 10, Filters: [{ Name: 'UPDATE_DATE', Values: ['0', '99999999999'], Condition: 'BETWEEN' }] },
  TagResource: { ResourceARN: serviceArn(ARN, SVC.echo), Tags: [{ Key: 'k', Value: 'v' }] },
  UntagResource: { ResourceARN: namespaceArn(ARN, NS.demo), TagKeys: ['k'] },
  ListTagsForResource: { ResourceARN: serviceArn(ARN, SVC.echo) },
};
const NAMES = Object.keys(OPERATIONS);

/** The input of an operation: its valid one mutated, an id field swapped, or any body at all. */
function inputFor(name: string): fc.Arbitrary<Buffer | undefined> {
  const valid = OPERATIONS[name]!;
  const idFields = Object.keys(valid).filter((k) => /Id$|ARN$|Name$/.test(k));
  const swapped = idFields.length === 0 ? [] : [{ weight: 3, arbitrary: fc.tuple(fc.constantFrom(...idFields), fc.constantFrom(...ID_POOL)).map(([k, v]) => json({ ...valid, [k]: v })) }];
  return fc.oneof({ weight: 6, arbitrary: mutatedObject(valid).map(json) }, ...swapped, { weight: 3, arbitrary: jsonBody(valid) });
}

/** Any text as a header value node's client sends: raw bytes from 0x21 to 0xFF but DEL, the rest percent-encoded. */
const headerText = (s: string): string => rawTargetText(s).replace(/\x7f/g, '%7F');

/** How a request is signed, or how its signature is broken. */
type Signing =
  | { kind: 'key'; key: TestKey }
  | { kind: 'unsigned' | 'unknown-key' | 'wrong-secret' | 'wrong-region' | 'stale' | 'body-not-signed' | 'target-not-signed' | 'bearer' }
  | { kind: 'garbage'; text: string };

const signing: fc.Arbitrary<Signing> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(ADMIN_KEY, DEMO_OPERATOR).map((key) => ({ kind: 'key' as const, key })) },
  { weight: 4, arbitrary: fc.constantFrom(...KEYS).map((key) => ({ kind: 'key' as const, key })) },
  { weight: 3, arbitrary: fc.constantFrom('unsigned', 'unknown-key', 'wrong-secret', 'wrong-region', 'stale', 'body-not-signed', 'target-not-signed', 'bearer').map((kind) => ({ kind }) as Signing) },
  { weight: 1, arbitrary: nastyString.map((s) => ({ kind: 'garbage' as const, text: `AWS4-HMAC-SHA256 ${headerText(s)}` })) },
);

const CONTENT_TYPES = [CONTENT_TYPE, `${CONTENT_TYPE}; charset=utf-8`, 'application/x-amz-json-1.0', 'application/json', 'text/plain', ''] as const;

let hub: AuthHub;
let endpoint: Endpoint;
let tokens: FuzzTokens;
let secrets: string;

test.before(async () => {
  const keys = cloudMapConfig(KEYS);
  secrets = keys.secrets;
  ({ hub, tokens } = await startFuzzHub({ cloudmap: keys.cloudmap }));
  endpoint = { port: hub.addresses.httpPort, agent: new http.Agent({ keepAlive: true, maxSockets: 4 }) };
});

test.after.always(async () => {
  endpoint?.agent.destroy();
  await hub?.close();
  if (secrets !== undefined) rmSync(secrets, { recursive: true, force: true });
});

/** The headers of a request signed (or not) as `how` says, for a body and a target operation. */
async function signedHeaders(how: Signing, headers: Record<string, string>, body: Buffer, query: Record<string, string>): Promise<Record<string, string>> {
  switch (how.kind) {
    case 'unsigned':
      return headers;
    case 'bearer':
      return { ...headers, authorization: `Bearer ${tokens.admin}` };
    case 'garbage':
      return { ...headers, authorization: how.text, 'x-amz-date': '20260101T000000Z' };
    default:
  }
  const key = how.kind === 'key' ? how.key : how.kind === 'unknown-key' ? { id: 'AKIANOBODYKNOWSTHIS1', secret: ADMIN_KEY.secret } : how.kind === 'wrong-secret' ? { id: ADMIN_KEY.id, secret: `${ADMIN_KEY.secret}x` } : ADMIN_KEY;
  const signer = new SignatureV4({ credentials: { accessKeyId: key.id, secretAccessKey: key.secret }, region: how.kind === 'wrong-region' ? 'us-east-1' : REGION, service: 'servicediscovery', sha256: Hash.bind(null, 'sha256') });
  const { 'x-amz-target': target, ...rest } = headers;
  const covered = how.kind === 'target-not-signed' ? rest : headers;
  const signed = await signer.sign(
    { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: endpoint.port, path: '/', query, headers: covered, body: how.kind === 'body-not-signed' ? Buffer.concat([body, Buffer.from(' ')]) : body },
    how.kind === 'stale' ? { signingDate: new Date(Date.now() - 10 * 60_000) } : {},
  );
  return { ...(signed.headers as Record<string, string>), ...(target !== undefined ? { 'x-amz-target': target } : {}) };
}

interface CloudMapCase {
  operation: string;
  signing: Signing;
  contentType: string;
  query: Record<string, string>;
  body: Buffer | undefined;
  chunked: boolean;
}

const known = fc.constantFrom(...NAMES).chain((operation) =>
  fc.record({
    operation: fc.constant(operation),
    signing,
    contentType: fc.oneof({ weight: 6, arbitrary: fc.constant(CONTENT_TYPE) }, { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) }),
    query: fc.oneof({ weight: 8, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.constant({ Action: 'ListServices' }) }),
    body: inputFor(operation),
    chunked: fc.boolean(),
  }),
);

/** Operations the API does not have: near misses, the unsupported ones, prototype keys and random text. */
const unknownOperation = fc.record({
  operation: fc.oneof(
    fc.constantFrom('listNamespaces', 'ListNamespaces2', 'UpdateHttpNamespace', 'GetServiceAttributes', 'constructor', '__proto__', 'toString', ''),
    nastyString.map(headerText),
  ),
  signing,
  contentType: fc.constant(CONTENT_TYPE),
  query: fc.constant({}),
  body: fc.option(fc.constant(Buffer.from('{}')), { nil: undefined }),
  chunked: fc.boolean(),
});

async function exchangeFor(c: CloudMapCase): Promise<Exchange> {
  const body = Buffer.from((c.body ?? Buffer.alloc(0)).toString('latin1').replaceAll(JSON.stringify(LATEST_OPERATION), JSON.stringify(latestOperation)), 'latin1');
  const base: Record<string, string> = { host: `127.0.0.1:${endpoint.port}`, 'x-amz-target': `${TARGET_PREFIX}${c.operation}`, ...(c.contentType !== '' ? { 'content-type': c.contentType } : {}) };
  const headers = await signedHeaders(c.signing, base, body, c.query);
  const search = new URLSearchParams(c.query).toString();
  return { method: 'POST', target: search === '' ? '/' : `/?${search}`, headers, body, chunked: c.chunked };
}

/** A 200 is a JSON object; anything else is AWS's error: a `__type` of the API with its status, and a message. */
function checkAnswer(x: Exchange, a: Answer): void {
  // node's own answer to a request it could not parse, before the hub sees it.
  if ((a.status === 400 || a.status === 431) && a.headers['content-type'] === undefined) return;
  check(a.headers['content-type'] === CONTENT_TYPE, () => `not ${CONTENT_TYPE}: ${describe(x, a)}`);
  const body = jsonOf(x, a) as Record<string, unknown> | null;
  check(body !== null && typeof body === 'object' && !Array.isArray(body), () => `not a JSON object: ${describe(x, a)}`);
  if (a.status === 200) return;
  const type = body.__type;
  check(typeof type === 'string' && Object.hasOwn(CLOUDMAP_ERRORS, type) && type !== 'InternalFailure', () => `not one of the API's errors: ${describe(x, a)}`);
  check(CLOUDMAP_ERRORS[type as keyof typeof CLOUDMAP_ERRORS] === a.status, () => `${String(type)} answered with status ${a.status}: ${describe(x, a)}`);
  check(typeof body.message === 'string' && body.message !== '', () => `an error without a message: ${describe(x, a)}`);
}

const cloudMapProbe = (x: Exchange, operation: string, tally: Tally, key: string): Promise<Answer> =>
  probeOnce({ registry: hub.hub.registry, endpoint, boundMs: ANSWER_BOUND_MS, checkAnswer }, x, CLOUDMAP_OPERATIONS[operation]?.write !== true, tally, key);

test.serial('the fuzzed operations are every operation of the Cloud Map API', (t) => {
  t.deepEqual([...NAMES].sort(), Object.keys(CLOUDMAP_OPERATIONS).sort());
});

test.serial('every Cloud Map operation, any input, content type and signature: a 200 or an AWS error of the API within the bound, and a refusal changes nothing', async (t) => {
  const tally = await fuzzEveryRoute(t, {
    cases: fc.oneof({ weight: 12, arbitrary: known }, { weight: 1, arbitrary: unknownOperation }),
    run: async (c, tally) => {
      const x = await exchangeFor(c);
      const a = await cloudMapProbe(x, c.operation, tally, Object.hasOwn(OPERATIONS, c.operation) ? c.operation : 'unknown');
      if (a.status === 200) latestOperation = (JSON.parse(a.body.toString()) as { OperationId?: string }).OperationId ?? latestOperation;
      else if (a.headers['content-type'] === CONTENT_TYPE) tally.add(`__type ${String((JSON.parse(a.body.toString()) as { __type: string }).__type)}`);
    },
    keys: NAMES,
    coverageFrom: 300,
    hub,
    endpoint,
    boundMs: ANSWER_BOUND_MS,
    options: { averageCaseMs: 30, share: 0.2 },
  });
  // Every kind of signature refusal is met, besides the refusals of the operations themselves.
  if (tally.get('2xx') + tally.get('4xx') >= 300) for (const type of ['MissingAuthenticationTokenException', 'IncompleteSignatureException', 'InvalidSignatureException', 'UnrecognizedClientException']) t.true(tally.get(`__type ${type}`) > 0, type);
});

// ---- valid input is accepted ----

const attributeKey = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,30}$/).filter((k) => !k.startsWith('AWS_'));
const validInstance = fc.record({
  id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,40}$/),
  address: fc.oneof(fc.ipV4().map((ip) => ({ AWS_INSTANCE_IPV4: ip })), fc.ipV6().map((ip) => ({ AWS_INSTANCE_IPV6: ip }))),
  port: fc.integer({ min: 1, max: 65535 }),
  health: fc.option(fc.constantFrom('HEALTHY', 'UNHEALTHY'), { nil: undefined }),
  attributes: fc.dictionary(attributeKey, fc.string({ unit: 'binary', maxLength: 40 }), { maxKeys: 6, noNullPrototype: true }),
  service: fc.constantFrom({ namespace: 'demo.local', name: 'echo' }, { namespace: 'demo.local', name: 'idle' }, { namespace: 'other.local', name: 'api' }),
});

test.serial('valid RegisterInstance calls are accepted (200) and read back by GetInstance and DiscoverInstances as sent', async (t) => {
  const tally = new Tally();
  let n = 0;
  const call = async (operation: string, input: unknown): Promise<Answer> => exchange(endpoint, await exchangeFor({ operation, signing: { kind: 'key', key: ADMIN_KEY }, contentType: CONTENT_TYPE, query: {}, body: json(input), chunked: false }), ANSWER_BOUND_MS);
  await fuzz(
    t,
    fc.asyncProperty(validInstance, async (v) => {
      const id = `v-${v.id}-${n++}`;
      const { namespace, name } = v.service;
      const attributes = { ...v.attributes, ...v.address, AWS_INSTANCE_PORT: String(v.port), ...(v.health !== undefined ? { AWS_INIT_HEALTH_STATUS: v.health } : {}) };
      const input = { ServiceId: serviceId(namespace, name), InstanceId: id, Attributes: attributes };
      const x = await exchangeFor({ operation: 'RegisterInstance', signing: { kind: 'key', key: ADMIN_KEY }, contentType: CONTENT_TYPE, query: {}, body: json(input), chunked: false });
      const a = await cloudMapProbe(x, 'RegisterInstance', tally, 'register');
      check(a.status === 200, () => `registration refused: ${describe(x, a)} for ${JSON.stringify(input)}`);
      const { AWS_INIT_HEALTH_STATUS: _, ...kept } = attributes;
      // Read at once, without the put-back a probe starts with (it may trim what was just registered).
      const got = await call('GetInstance', { ServiceId: input.ServiceId, InstanceId: id });
      check(got.status === 200, () => `GetInstance refused: ${got.status} ${got.body.toString()}`);
      const instance = (JSON.parse(got.body.toString()) as { Instance: { Id: string; Attributes: Record<string, string> } }).Instance;
      check(instance.Id === id && isDeepStrictEqual(instance.Attributes, kept), () => `read back ${JSON.stringify(instance)} for ${JSON.stringify(kept)}`);
      const found = await call('DiscoverInstances', { NamespaceName: namespace, ServiceName: name, HealthStatus: 'ALL', MaxResults: 1000 });
      const listed = (JSON.parse(found.body.toString()) as { Instances: Array<{ InstanceId: string; HealthStatus: string }> }).Instances.find((i) => i.InstanceId === id);
      check(listed?.HealthStatus === (v.health ?? 'HEALTHY'), () => `discovered as ${JSON.stringify(listed)} for health ${String(v.health)}`);
    }),
    { averageCaseMs: 60, share: 0.1 },
  );
  t.log(tally.toString());
  t.is(tally.get('4xx'), 0, 'nothing valid is refused');
});
