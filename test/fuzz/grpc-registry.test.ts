/**
 * Fuzzing the hub's gRPC registration API (outrigger.registry.v1.Registry) on a whole hub with
 * auth on, with the real client: every unary method and Watch with proto3 messages built from
 * random field values, and Session streams carrying random sequences of requests. A call either
 * succeeds or fails with one of the statuses a caller can act on, carrying the catalogue code in
 * its trailers; a refused call or Session request leaves the registry exactly as it was.
 *
 * Allowed failures, and why each is the caller's to fix rather than the hub's:
 *   INVALID_ARGUMENT    a field is malformed (the trailer names it)
 *   UNAUTHENTICATED     no token, an unknown one, or a malformed authorization value
 *   PERMISSION_DENIED   the token's role or scopes do not cover the action
 *   NOT_FOUND           the instance, service or namespace named does not exist
 *   ALREADY_EXISTS      the namespace to create exists
 *   FAILED_PRECONDITION the registry's state forbids it (a namespace with services, a service with live instances)
 *   RESOURCE_EXHAUSTED  a limit: instance caps, write rate, message size
 * INTERNAL, UNKNOWN or UNAVAILABLE from a running hub would be a bug.
 */
import * as grpc from '@grpc/grpc-js';
import { isDeepStrictEqual } from 'node:util';
import test from 'ava';
import fc from 'fast-check';
import { ERROR_KINDS } from '../../src/common/errors.js';
import { ERROR_CODE_KEY } from '../../src/wire/grpc-errors.js';
import type * as m from '../../src/wire/messages.js';
import { createRegistryClient, type RegistryClient, type RegistryUnaryMethods } from '../../src/wire/registry-client.js';
import { toStruct } from '../../src/wire/struct.js';
import type { AuthHub } from '../helpers/auth-hub.js';
import { check, fuzz, mutatedObject, nastyKey, nastyString, Tally } from '../helpers/fuzz.js';
import { reseed, startFuzzHub, type FuzzTokens } from '../helpers/fuzz-registry.js';
import { registrySnapshot } from '../helpers/http-registry-snapshot.js';
import { Changes } from '../helpers/wait.js';

const CALL_BOUND_MS = 5000;
const ALLOWED: ReadonlySet<grpc.status> = new Set([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.UNAUTHENTICATED,
  grpc.status.PERMISSION_DENIED,
  grpc.status.NOT_FOUND,
  grpc.status.ALREADY_EXISTS,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.RESOURCE_EXHAUSTED,
]);

let hub: AuthHub;
let client: RegistryClient;
let tokens: FuzzTokens;

test.before(async () => {
  ({ hub, tokens } = await startFuzzHub());
  client = createRegistryClient(hub.addresses.grpc, grpc.credentials.createInsecure());
});

test.after.always(async () => {
  client?.close();
  await hub?.close();
});

// ---- field values ----

// Two authorization values cannot be sent: grpc-js refuses such a call before it leaves the client.
type Credential = 'none' | keyof typeof tokens | 'unknown' | 'basic' | 'empty';
const credential: fc.Arbitrary<Credential> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Credential>('admin', 'operator') },
  { weight: 2, arbitrary: fc.constantFrom<Credential>('none', 'admin', 'operator', 'viewer', 'service', 'other-operator', 'unknown', 'basic', 'empty') },
);

function metadataFor(c: Credential): grpc.Metadata {
  const md = new grpc.Metadata();
  if (c === 'unknown') md.set('authorization', 'Bearer ort_nobody-issued-this');
  else if (c === 'basic') md.set('authorization', 'Basic YWRtaW46YWRtaW4=');
  else if (c === 'empty') md.set('authorization', 'Bearer ');
  else if (c !== 'none') md.set('authorization', `Bearer ${tokens[c]}`);
  return md;
}

/** A string field: a value the hub knows, random text, or unset. */
const str = (...known: string[]): fc.Arbitrary<string | undefined> =>
  fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...known) }, { weight: 3, arbitrary: nastyString }, { weight: 1, arbitrary: fc.constant(undefined) });
const uint32 = fc.oneof(fc.constantFrom(0, 1, 80, 1000, 1001, 65535, 65536, 2 ** 31, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 4 });
/** An enum: a known name, an unknown number (arrives as its number), or unset. */
const wireEnum = <T extends string>(...names: T[]): fc.Arbitrary<T | number | undefined> =>
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: fc.constantFrom(0, 5, 99, 2 ** 31 - 1) }, { weight: 1, arbitrary: fc.constant(undefined) });
const health = wireEnum<m.WireHealth>('HEALTH_UNSPECIFIED', 'HEALTHY', 'UNHEALTHY', 'UNKNOWN', 'DRAINING');
const duration: fc.Arbitrary<m.WireDuration | undefined> = optional(
  fc.record({ seconds: fc.oneof(fc.constantFrom(0, 1, 30, 86_400, 86_401, -1, 2 ** 53 - 1, -(2 ** 53)), fc.integer()), nanos: fc.oneof(fc.constantFrom(0, 1, 999_999_999, -1), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })) }, { requiredKeys: [] }),
);
const wireMetadata = optional(
  fc.oneof(fc.constant({ team: 'a' }), fc.dictionary(nastyKey, nastyString, { maxKeys: 8, noNullPrototype: true }), fc.dictionary(fc.stringMatching(/^k\d{1,3}$/), fc.constant('v'), { minKeys: 60, maxKeys: 70, noNullPrototype: true })),
);
const ids = str('echo-1', 'echo-2', 'api-1', 'nope-1', 'fz-1');
const namespaces = str('demo.local', 'other.local', 'empty.local', 'nope.local', 'fz.local', 'default');
const services = str('echo', 'idle', 'api', 'nope', 'fz');

const registerFields = {
  id: ids,
  service: services,
  namespace: namespaces,
  address: str('10.0.0.9', '::1', 'host.example', '999.1.1.1', '-bad-', 'a'.repeat(300)),
  port: uint32,
  protocol: wireEnum<m.WireProtocol>('PROTOCOL_UNSPECIFIED', 'PROTOCOL_HTTP', 'PROTOCOL_HTTP2', 'PROTOCOL_GRPC', 'PROTOCOL_TCP'),
  version: str('v1', 'bad version'),
  zone: str('z1'),
  region: str('r1'),
  weight: uint32,
  metadata: wireMetadata,
  health,
  source: wireEnum<m.WireSource>('SOURCE_UNSPECIFIED', 'SOURCE_SELF', 'SOURCE_KUBERNETES', 'SOURCE_STATIC'),
  ttl: duration,
  deregister_critical_after: duration,
};

/** A registration that is valid for an operator of demo.local, so mutations of one field reach each check. */
const validRegister: fc.Arbitrary<m.RegisterRequest> = fc.record({
  id: fc.constantFrom('fz-1', 'fz-2', 'echo-1'),
  service: fc.constantFrom('echo', 'fz'),
  namespace: fc.constant('demo.local'),
  address: fc.constantFrom('10.0.0.9', '::1', 'host.example'),
  port: fc.integer({ min: 1, max: 65535 }),
  weight: fc.integer({ min: 1, max: 1000 }),
  metadata: fc.constant({ team: 'a' }),
  ttl: fc.constantFrom({ seconds: 0 }, { seconds: 30 }, { seconds: 1, nanos: 500_000_000 }),
});

const registerRequest: fc.Arbitrary<m.RegisterRequest> = fc.oneof(
  { weight: 2, arbitrary: validRegister },
  {
    weight: 4,
    arbitrary: fc
      .tuple(validRegister, fc.constantFrom(...(Object.keys(registerFields) as Array<keyof typeof registerFields>)))
      .chain(([valid, key]) => (registerFields[key] as fc.Arbitrary<unknown>).map((value) => ({ ...valid, [key]: value }) as m.RegisterRequest)),
  },
  { weight: 2, arbitrary: fc.record(registerFields, { requiredKeys: [] }) },
);

const VALID_CONFIG = { lb_policy: 'least_request', lb_options: { choice_count: 3 }, timeout_ms: 1000, circuit_breakers: { max_requests: 10 }, retry: { num_retries: 1 } };

/** A google.protobuf.Value with numbers JSON has no room for, empty kinds and deep nesting. */
const oddValue: fc.Arbitrary<m.WireValue> = fc.oneof(
  fc.constantFrom<m.WireValue>({ numberValue: Number.NaN }, { numberValue: Number.POSITIVE_INFINITY }, { numberValue: -0 }, {}, { nullValue: 'NULL_VALUE' }, { listValue: {} }, { structValue: {} }),
  // Past 32 levels the hub refuses a config; past 49, protobufjs on the client refuses to encode it.
  fc.integer({ min: 28, max: 48 }).map((depth) => {
    let v: m.WireValue = { numberValue: 1 };
    for (let i = 0; i < depth; i++) v = { structValue: { fields: { a: v } } };
    return v;
  }),
);
/** JSON nested deeper than `depth` is cut there: protobufjs on the client will not encode a message nested past 100 levels. */
function clampDepth(v: unknown, depth: number): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (depth === 0) return 'cut';
  if (Array.isArray(v)) return v.map((x) => clampDepth(x, depth - 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clampDepth(x, depth - 1)]));
}

const serviceConfig: fc.Arbitrary<m.WireStruct | undefined> = fc.oneof(
  { weight: 4, arbitrary: mutatedObject(VALID_CONFIG).map((v) => clampDepth(v, 40)).map((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? toStruct(v as Record<string, unknown>) : toStruct({ value: v }))) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('timeout_ms', 'lb_policy', 'lb_options', 'retry', 'x'), oddValue).map(([k, v]) => ({ fields: { ...toStruct(VALID_CONFIG).fields, [k]: v } })) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

type UnaryCase = { [K in keyof RegistryUnaryMethods]: { method: K; request: Parameters<RegistryUnaryMethods[K]>[0] } }[keyof RegistryUnaryMethods];

const unaryCase: fc.Arbitrary<UnaryCase> = fc.oneof(
  registerRequest.map((request) => ({ method: 'Register' as const, request })),
  fc.array(registerRequest, { maxLength: 4 }).map((items) => ({ method: 'RegisterBatch' as const, request: { items } })),
  fc.record({ id: ids }, { requiredKeys: [] }).map((request) => ({ method: 'Deregister' as const, request })),
  fc.record({ id: ids, health }, { requiredKeys: [] }).map((request) => ({ method: 'Heartbeat' as const, request })),
  fc.record({ id: ids, health }, { requiredKeys: [] }).map((request) => ({ method: 'ReportHealth' as const, request })),
  fc
    .record(
      {
        namespace: namespaces,
        service: services,
        health: fc.array(health.map((h) => h ?? 0), { maxLength: 5 }),
        any_health: fc.boolean(),
        version: str('v2'),
        zone: str('z1'),
        metadata: wireMetadata,
        limit: uint32,
      },
      { requiredKeys: [] },
    )
    .map((request) => ({ method: 'Discover' as const, request: request as m.DiscoverRequest })),
  fc.record({ namespace: namespaces, name: services, config: serviceConfig }, { requiredKeys: [] }).map((request) => ({ method: 'PutService' as const, request })),
  fc.record({ namespace: namespaces, name: services }, { requiredKeys: [] }).map((request) => ({ method: 'GetService' as const, request })),
  fc.record({ namespace: namespaces }, { requiredKeys: [] }).map((request) => ({ method: 'ListServices' as const, request })),
  fc.record({ namespace: namespaces, name: services }, { requiredKeys: [] }).map((request) => ({ method: 'DeleteService' as const, request })),
  fc.record({ name: namespaces, description: optional(nastyString) }, { requiredKeys: [] }).map((request) => ({ method: 'CreateNamespace' as const, request })),
  fc.constant({ method: 'ListNamespaces' as const, request: {} }),
  fc.record({ name: namespaces }, { requiredKeys: [] }).map((request) => ({ method: 'DeleteNamespace' as const, request })),
);

/** A failed call: an allowed status, with the catalogue code in its trailer (grpc-js's own size limit has none). */
function checkFailure(err: grpc.ServiceError, what: () => string): void {
  check(ALLOWED.has(err.code), () => `status ${grpc.status[err.code]} (${err.details}) for ${what()}`);
  const code = err.metadata?.get(ERROR_CODE_KEY)[0];
  if (code === undefined && err.code === grpc.status.RESOURCE_EXHAUSTED) return;
  check(typeof code === 'string' && code in ERROR_KINDS, () => `no catalogue code in the trailers of ${grpc.status[err.code]} (${err.details}) for ${what()}`);
  check(ERROR_KINDS[code as keyof typeof ERROR_KINDS].grpc === err.code, () => `code ${String(code)} with status ${grpc.status[err.code]} for ${what()}`);
}

function callUnary(c: UnaryCase, md: grpc.Metadata): Promise<{ err: grpc.ServiceError | null }> {
  return new Promise((resolve) => {
    const fn = client[c.method] as unknown as (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => void;
    fn.call(client, c.request, md, { deadline: Date.now() + CALL_BOUND_MS }, (err) => resolve({ err }));
  });
}

const show = (v: unknown): string => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 400 ? `${text.slice(0, 400)}...` : text;
};

test.serial('unary calls and Watch with random field values: OK or an allowed status with its code, and a refusal changes nothing', async (t) => {
  const tally = new Tally();
  const watchCase = fc.record({ namespace: namespaces, service: services, resume: optional(fc.record({ epoch: optional(nastyString), version: optional(fc.nat()) }, { requiredKeys: [] })) }, { requiredKeys: [] });
  const cases = fc.tuple(fc.oneof({ weight: 12, arbitrary: unaryCase }, { weight: 1, arbitrary: watchCase.map((request) => ({ method: 'Watch' as const, request })) }), credential);
  await fuzz(
    t,
    fc.asyncProperty(cases, async ([c, cred]) => {
      reseed(hub.hub.registry);
      const before = registrySnapshot(hub.hub.registry);
      const what = (): string => `${c.method} ${show(c.request)} as ${cred}`;
      const err = c.method === 'Watch' ? await firstWatchAnswer(c.request, metadataFor(cred)) : (await callUnary(c, metadataFor(cred))).err;
      if (err === null) {
        tally.add(`${c.method} OK`);
        if (c.method === 'Watch' || c.method.startsWith('Get') || c.method.startsWith('List') || c.method === 'Discover') {
          check(isDeepStrictEqual(registrySnapshot(hub.hub.registry), before), () => `a read changed the registry: ${what()}`);
        }
        return;
      }
      tally.add(`${c.method} ${grpc.status[err.code]}`);
      checkFailure(err, what);
      check(isDeepStrictEqual(registrySnapshot(hub.hub.registry), before), () => `a refused call changed the registry: ${grpc.status[err.code]} ${err.details}: ${what()}`);
    }),
    { averageCaseMs: 20 },
  );
  t.log(tally.toString());
  t.deepEqual(hub.logs.filter((l) => l.level === 'error'), [], 'no handler failed');
  t.true((await hubStillServes()).some((ns) => ns.name === 'demo.local'), 'the hub still answers');
});

/** Opens a Watch, waits for its first event or its end, then cancels it. Null when an event came. */
function firstWatchAnswer(request: m.WatchRequest, md: grpc.Metadata): Promise<grpc.ServiceError | null> {
  return new Promise((resolve, reject) => {
    const call = client.Watch(request, md, { deadline: Date.now() + CALL_BOUND_MS });
    call.on('data', () => {
      resolve(null);
      call.cancel();
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code === grpc.status.CANCELLED) return;
      resolve(err);
    });
    call.on('end', () => reject(new Error('the Watch ended without an event or a status')));
  });
}

async function hubStillServes(): Promise<m.WireNamespace[]> {
  const md = metadataFor('admin');
  return new Promise((resolve, reject) =>
    client.ListNamespaces({}, md, { deadline: Date.now() + CALL_BOUND_MS }, (err, res) => (err ? reject(err) : resolve(res?.namespaces ?? []))),
  );
}

// ---- Session ----

type SessionKind = 'register' | 'heartbeat' | 'report_health' | 'drain' | 'deregister' | 'none';
const sessionRequest: fc.Arbitrary<{ kind: SessionKind; req: m.SessionRequest }> = fc
  .tuple(
    fc.oneof(fc.constantFrom(0, 1, 2 ** 53 - 1), fc.nat()),
    fc.oneof(
      { weight: 4, arbitrary: registerRequest.map((register) => ({ kind: 'register' as const, body: { register } })) },
      { weight: 2, arbitrary: fc.record({ id: ids, health }, { requiredKeys: [] }).map((heartbeat) => ({ kind: 'heartbeat' as const, body: { heartbeat } })) },
      { weight: 2, arbitrary: fc.record({ id: ids, health }, { requiredKeys: [] }).map((report_health) => ({ kind: 'report_health' as const, body: { report_health } })) },
      { weight: 1, arbitrary: fc.record({ id: ids }, { requiredKeys: [] }).map((drain) => ({ kind: 'drain' as const, body: { drain } })) },
      { weight: 1, arbitrary: fc.record({ id: ids }, { requiredKeys: [] }).map((deregister) => ({ kind: 'deregister' as const, body: { deregister } })) },
      { weight: 1, arbitrary: fc.constant({ kind: 'none' as const, body: {} }) },
    ),
  )
  .map(([nonce, { kind, body }]) => ({ kind, req: { nonce, ...body } as m.SessionRequest }));

/** One Session stream driven a request at a time: each answer is awaited before the next request goes. */
class FuzzSession {
  private readonly answers: m.SessionResponse[] = [];
  private status: grpc.StatusObject | undefined;
  private readonly changes = new Changes();
  readonly call: grpc.ClientDuplexStream<m.SessionRequest, m.SessionResponse>;

  constructor(md: grpc.Metadata) {
    this.call = client.Session(md, { deadline: Date.now() + 60_000 });
    this.call.on('data', (r: m.SessionResponse) => {
      this.answers.push(r);
      this.changes.changed();
    });
    this.call.on('error', () => undefined);
    this.call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.changes.changed();
    });
  }

  /** The answer to `req`, or the stream's status when it ended instead. */
  async send(req: m.SessionRequest): Promise<m.SessionResponse | grpc.StatusObject> {
    const seen = this.answers.length;
    this.call.write(req);
    return this.changes.eventually('an answer or the end of the stream', () => this.answers[seen] ?? this.status, CALL_BOUND_MS);
  }

  /** Half-closes and waits for the stream's status: the hub has released the stream's leases by then. */
  async end(): Promise<grpc.StatusObject> {
    this.call.end();
    return this.changes.eventually('the session to end', () => this.status, CALL_BOUND_MS);
  }
}

test.serial('Session streams with random requests: each is answered in order, refusals carry an allowed code and change nothing', async (t) => {
  const tally = new Tally();
  await fuzz(
    t,
    fc.asyncProperty(credential, fc.array(sessionRequest, { minLength: 1, maxLength: 6 }), async (cred, requests) => {
      reseed(hub.hub.registry);
      const session = new FuzzSession(metadataFor(cred));
      for (const { kind, req } of requests) {
        const before = registrySnapshot(hub.hub.registry);
        const what = (): string => `Session ${kind} ${show(req)} as ${cred}`;
        const answer = await session.send(req);
        if ('code' in answer) {
          // The stream itself was refused (credentials): nothing else will be answered.
          tally.add(`stream ${grpc.status[answer.code]}`);
          check(answer.code === grpc.status.UNAUTHENTICATED, () => `the stream ended with ${grpc.status[answer.code]} (${answer.details}) on ${what()}`);
          return;
        }
        check((answer.nonce ?? 0) === req.nonce, () => `answer nonce ${String(answer.nonce)} to request nonce ${String(req.nonce)}: ${what()}`);
        if (answer.error === undefined) {
          check(answer.instance !== undefined, () => `an answer with neither instance nor error: ${what()}`);
          tally.add(`${kind} OK`);
          continue;
        }
        const e = answer.error;
        tally.add(`${kind} ${e.code ?? '?'}`);
        check(e.code !== undefined && e.code in ERROR_KINDS, () => `answer error without a catalogue code: ${show(e)} for ${what()}`);
        check(ALLOWED.has(e.grpc_code ?? 0) && ERROR_KINDS[e.code as keyof typeof ERROR_KINDS].grpc === e.grpc_code, () => `answer error ${show(e)} for ${what()}`);
        check(isDeepStrictEqual(registrySnapshot(hub.hub.registry), before), () => `a refused request changed the registry: ${show(e)}: ${what()}`);
      }
      const end = await session.end();
      check(end.code === grpc.status.OK, () => `the session ended with ${grpc.status[end.code]} (${end.details}) after a half-close`);
    }),
    { averageCaseMs: 30 },
  );
  t.log(tally.toString());
  t.deepEqual(hub.logs.filter((l) => l.level === 'error'), [], 'no handler failed');
  t.true((await hubStillServes()).some((ns) => ns.name === 'demo.local'), 'the hub still answers');
});
