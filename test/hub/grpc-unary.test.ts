import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import type { RegisterRequest } from '../../src/wire/messages.js';
import { callUnary, errorDetails } from '../../src/wire/registry-client.js';
import { fromStruct, toStruct } from '../../src/wire/struct.js';
import { metricValue, rejectsWith, startGrpcHub, type GrpcHub } from '../helpers/grpc-hub.js';

const echo = (id: string, extra: Partial<RegisterRequest> = {}): RegisterRequest => ({
  id,
  service: 'echo',
  namespace: 'demo.local',
  address: '10.0.0.1',
  port: 8080,
  ...extra,
});

/** Registry fingerprint: a failed call must leave it exactly as it was. */
function fingerprint(hub: GrpcHub): string {
  return JSON.stringify({
    version: hub.registry.version,
    instances: [...hub.registry.allInstances()],
    services: hub.registry.listServices(),
    namespaces: hub.registry.listNamespaces(),
  });
}

async function unchangedAfter(t: Parameters<typeof rejectsWith>[0], hub: GrpcHub, fail: () => Promise<unknown>, code: grpc.status, field?: string) {
  const before = fingerprint(hub);
  const err = await rejectsWith(t, fail(), code, field);
  t.is(fingerprint(hub), before, `registry changed after: ${err.details}`);
  return err;
}

test('Register maps the proto message onto the registry, with proto3 zeros as defaults', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  const inst = await callUnary(hub.client, 'Register', echo('a', {
    protocol: 'PROTOCOL_GRPC',
    weight: 0,
    metadata: { team: 'core' },
    zone: 'z1',
    ttl: { seconds: 10 },
    deregister_critical_after: { seconds: 60 },
  }));
  t.is(inst.id, 'a');
  t.is(inst.protocol, 'PROTOCOL_GRPC');
  t.is(inst.weight, 100, 'weight 0 means the default');
  t.is(inst.health, 'HEALTHY');
  t.is(inst.source, 'SOURCE_SELF');
  t.deepEqual(inst.metadata, { team: 'core' });
  t.deepEqual(inst.lease?.ttl, { seconds: 10 });
  t.deepEqual(inst.lease?.deregister_critical_after, { seconds: 60 });
  t.is(inst.revision, hub.registry.version);
  const stored = hub.registry.getInstance('a')!;
  t.is(stored.protocol, 'grpc');
  t.is(stored.zone, 'z1');
  t.is(stored.lease.ttlMs, 10_000);

  // A present, zero Duration is "no lease"; the hub makes up an id when none is given.
  const unleased = await callUnary(hub.client, 'Register', echo('', { ttl: {}, source: 'SOURCE_STATIC', health: 'UNKNOWN' }));
  t.truthy(unleased.id);
  t.is(hub.registry.getInstance(unleased.id!)!.lease.ttlMs, 0);
  t.is(unleased.health, 'UNKNOWN');
  t.is(unleased.source, 'SOURCE_STATIC');

  t.is(await metricValue(hub.metrics.registrations, { api: 'grpc' }), 2);
  t.is(await metricValue(hub.metrics.requests, { api: 'grpc', route: 'Register', code: 'OK' }), 2);
});

test('Register rejects bad input naming the field, and changes nothing', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  await callUnary(hub.client, 'Register', echo('existing'));
  const reg = (req: RegisterRequest) => () => callUnary(hub.client, 'Register', req);
  const INVALID = grpc.status.INVALID_ARGUMENT;

  const noPort = await unchangedAfter(t, hub, reg({ service: 'echo', address: '10.0.0.1' }), INVALID, 'port');
  t.regex(noPort.details, /port: must be an integer from 1 to 65535/);
  t.is(errorDetails(noPort).code, 'invalid_argument');
  await unchangedAfter(t, hub, reg(echo('x', { port: 0 })), INVALID, 'port');
  await unchangedAfter(t, hub, reg(echo('x', { port: 70_000 })), INVALID, 'port');
  await unchangedAfter(t, hub, reg(echo('x', { weight: 1001 })), INVALID, 'weight');
  await unchangedAfter(t, hub, reg(echo('x', { service: 'Not_A_Label' })), INVALID, 'service');
  await unchangedAfter(t, hub, reg(echo('x', { service: '' })), INVALID, 'service');
  await unchangedAfter(t, hub, reg(echo('x', { namespace: 'bad..name' })), INVALID, 'namespace');
  await unchangedAfter(t, hub, reg(echo('bad id!')), INVALID, 'id');
  await unchangedAfter(t, hub, reg(echo('x', { address: 'not an address' })), INVALID, 'address');
  await unchangedAfter(t, hub, reg(echo('x', { health: 42 })), INVALID, 'health');
  await unchangedAfter(t, hub, reg(echo('x', { ttl: { seconds: 0, nanos: 500_000_000 } })), INVALID, 'ttl');
  const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
  const big = await unchangedAfter(t, hub, reg(echo('x', { metadata: tooMany })), INVALID, 'metadata');
  t.regex(big.details, /too large/);
  await unchangedAfter(t, hub, reg(echo('x', { metadata: { a: 'x'.repeat(500), b: 'x'.repeat(500), c: 'x'.repeat(500), d: 'x'.repeat(500), e: 'x'.repeat(500), f: 'x'.repeat(500), g: 'x'.repeat(500), h: 'x'.repeat(500), i: 'x'.repeat(500) } })), INVALID, 'metadata');
  // Replacing an existing instance with bad input leaves the old one in place.
  await unchangedAfter(t, hub, reg(echo('existing', { port: 70_000 })), INVALID, 'port');
  t.is(hub.registry.getInstance('existing')!.port, 8080);
  t.is(await metricValue(hub.metrics.requests, { api: 'grpc', route: 'Register', code: 'INVALID_ARGUMENT' }), 14);
});

test('Deregister, Heartbeat and ReportHealth: success, NOT_FOUND for unknown ids, bad health rejected', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  await callUnary(hub.client, 'Register', echo('a', { ttl: { seconds: 5 } }));

  hub.clock.advance(6_000);
  t.is(hub.registry.getInstance('a')!.health, 'UNHEALTHY', 'lease expired without heartbeat');
  const renewed = await callUnary(hub.client, 'Heartbeat', { id: 'a' });
  t.is(renewed.health, 'HEALTHY');
  t.is(renewed.lease?.expired_at, undefined);

  const draining = await callUnary(hub.client, 'Heartbeat', { id: 'a', health: 'DRAINING' });
  t.is(draining.health, 'DRAINING');
  const sick = await callUnary(hub.client, 'ReportHealth', { id: 'a', health: 'UNHEALTHY' });
  t.is(sick.health, 'UNHEALTHY');
  t.is(hub.registry.getInstance('a')!.reportedHealth, 'UNHEALTHY');

  await unchangedAfter(t, hub, () => callUnary(hub.client, 'ReportHealth', { id: 'a' }), grpc.status.INVALID_ARGUMENT, 'health');
  await unchangedAfter(t, hub, () => callUnary(hub.client, 'ReportHealth', { id: 'a', health: 'HEALTH_UNSPECIFIED' }), grpc.status.INVALID_ARGUMENT, 'health');
  await unchangedAfter(t, hub, () => callUnary(hub.client, 'Heartbeat', { id: 'nope' }), grpc.status.NOT_FOUND, 'id');
  await unchangedAfter(t, hub, () => callUnary(hub.client, 'ReportHealth', { id: 'nope', health: 'HEALTHY' }), grpc.status.NOT_FOUND, 'id');
  await unchangedAfter(t, hub, () => callUnary(hub.client, 'Deregister', { id: 'nope' }), grpc.status.NOT_FOUND, 'id');
  await unchangedAfter(t, hub, () => callUnary(hub.client, 'Deregister', {}), grpc.status.INVALID_ARGUMENT, 'id');

  const gone = await callUnary(hub.client, 'Deregister', { id: 'a' });
  t.is(gone.id, 'a');
  t.is(hub.registry.getInstance('a'), undefined);
});

test('Discover filters by namespace, service, health, version, zone, metadata and limit', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  await callUnary(hub.client, 'Register', echo('a1', { version: 'v1', zone: 'z1', metadata: { tier: 'gold' } }));
  await callUnary(hub.client, 'Register', echo('a2', { version: 'v2', zone: 'z1' }));
  await callUnary(hub.client, 'Register', echo('a3', { version: 'v1', zone: 'z2', health: 'UNHEALTHY' }));
  await callUnary(hub.client, 'Register', echo('b1', { service: 'other' }));
  await callUnary(hub.client, 'Register', echo('c1', { namespace: 'elsewhere' }));

  const ids = async (req: Parameters<typeof callUnary<'Discover'>>[2]) =>
    ((await callUnary(hub.client, 'Discover', req)).instances ?? []).map((i) => i.id);

  t.deepEqual(await ids({ namespace: 'demo.local', service: 'echo' }), ['a1', 'a2'], 'healthy only by default');
  t.deepEqual(await ids({ namespace: 'demo.local', service: 'echo', any_health: true }), ['a1', 'a2', 'a3']);
  t.deepEqual(await ids({ service: 'echo', health: ['UNHEALTHY'] }), ['a3']);
  t.deepEqual(await ids({ service: 'echo' }), ['a1', 'a2', 'c1'], 'no namespace means every namespace');
  t.deepEqual(await ids({ namespace: 'demo.local' }), ['a1', 'a2', 'b1']);
  t.deepEqual(await ids({ service: 'echo', version: 'v1', any_health: true }), ['a1', 'a3']);
  t.deepEqual(await ids({ service: 'echo', zone: 'z1' }), ['a1', 'a2']);
  t.deepEqual(await ids({ metadata: { tier: 'gold' } }), ['a1']);
  t.deepEqual(await ids({ limit: 2 }), ['a1', 'a2']);
  const res = await callUnary(hub.client, 'Discover', {});
  t.is(res.version, hub.registry.version);

  await rejectsWith(t, callUnary(hub.client, 'Discover', { namespace: 'Bad_NS' }), grpc.status.INVALID_ARGUMENT, 'namespace');
  await rejectsWith(t, callUnary(hub.client, 'Discover', { service: 'bad.service' }), grpc.status.INVALID_ARGUMENT, 'service');
  await rejectsWith(t, callUnary(hub.client, 'Discover', { health: ['HEALTHY', 'HEALTH_UNSPECIFIED'] }), grpc.status.INVALID_ARGUMENT, 'health[1]');
});

test('PutService, GetService, ListServices and DeleteService', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  const put = await callUnary(hub.client, 'PutService', {
    namespace: 'demo.local',
    name: 'echo',
    config: toStruct({ lb_policy: 'least_request', retry: { num_retries: 0, retry_on: ['5xx'] }, lb_options: { choice_count: 3 } }),
  });
  const config = fromStruct(put.config!, 'config');
  t.is(config['lb_policy'], 'least_request');
  t.deepEqual(config['retry'], { num_retries: 0, retry_on: ['5xx'], retriable_status_codes: [503], per_try_timeout_ms: 0, budget_percent: 20, min_retry_concurrency: 3 });
  t.like(config['lb_options'], { choice_count: 3 });
  t.is(hub.registry.getService('demo.local', 'echo')!.config.retry.num_retries, 0);

  // No namespace: the hub's default one.
  const plain = await callUnary(hub.client, 'PutService', { name: 'plain' });
  t.is(plain.namespace, 'default');
  t.is(fromStruct(plain.config!, 'config')['lb_policy'], 'round_robin');

  const got = await callUnary(hub.client, 'GetService', { namespace: 'demo.local', name: 'echo' });
  t.is(got.revision, put.revision);
  const all = await callUnary(hub.client, 'ListServices', {});
  t.deepEqual((all.services ?? []).map((s) => `${s.name}.${s.namespace}`), ['echo.demo.local', 'plain.default']);
  const inDemo = await callUnary(hub.client, 'ListServices', { namespace: 'demo.local' });
  t.deepEqual((inDemo.services ?? []).map((s) => s.name), ['echo']);

  const INVALID = grpc.status.INVALID_ARGUMENT;
  const put2 = (config: Record<string, unknown>) => () => callUnary(hub.client, 'PutService', { namespace: 'demo.local', name: 'echo', config: toStruct(config) });
  await unchangedAfter(t, hub, put2({ lb_policy: 'fastest' }), INVALID, 'config.lb_policy');
  await unchangedAfter(t, hub, put2({ bogus: 1 }), INVALID, 'config.bogus');
  await unchangedAfter(t, hub, put2({ retry: { num_retries: 11 } }), INVALID, 'config.retry.num_retries');
  await unchangedAfter(t, hub, () => callUnary(hub.client, 'PutService', { name: 'Bad_Name' }), INVALID, 'name');
  await unchangedAfter(t, hub, () => callUnary(hub.client, 'GetService', { namespace: 'demo.local', name: 'missing' }), grpc.status.NOT_FOUND, 'name');
  await unchangedAfter(t, hub, () => callUnary(hub.client, 'ListServices', { namespace: '-bad-' }), INVALID, 'namespace');

  await callUnary(hub.client, 'Register', echo('a'));
  const busy = await unchangedAfter(t, hub, () => callUnary(hub.client, 'DeleteService', { namespace: 'demo.local', name: 'echo' }), grpc.status.FAILED_PRECONDITION, 'name');
  t.regex(busy.details, /live instance/);
  await unchangedAfter(t, hub, () => callUnary(hub.client, 'DeleteService', { namespace: 'demo.local', name: 'missing' }), grpc.status.NOT_FOUND, 'name');
  await callUnary(hub.client, 'Deregister', { id: 'a' });
  const deleted = await callUnary(hub.client, 'DeleteService', { namespace: 'demo.local', name: 'echo' });
  t.is(deleted.name, 'echo');
  t.is(hub.registry.getService('demo.local', 'echo'), undefined);
});

test('CreateNamespace, ListNamespaces and DeleteNamespace', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  const ns = await callUnary(hub.client, 'CreateNamespace', { name: 'secure-api.local', description: 'payments' });
  t.is(ns.name, 'secure-api.local');
  t.is(ns.description, 'payments');
  t.truthy(ns.created_at?.seconds);

  await unchangedAfter(t, hub, () => callUnary(hub.client, 'CreateNamespace', { name: 'secure-api.local' }), grpc.status.ALREADY_EXISTS, 'name');
  await unchangedAfter(t, hub, () => callUnary(hub.client, 'CreateNamespace', { name: 'Upper.Case' }), grpc.status.INVALID_ARGUMENT, 'name');
  await unchangedAfter(t, hub, () => callUnary(hub.client, 'CreateNamespace', { name: 'x', description: 'd'.repeat(1025) }), grpc.status.INVALID_ARGUMENT, 'description');

  await callUnary(hub.client, 'PutService', { namespace: 'secure-api.local', name: 'worker' });
  const listed = await callUnary(hub.client, 'ListNamespaces', {});
  t.deepEqual((listed.namespaces ?? []).map((n) => n.name), ['secure-api.local']);

  await unchangedAfter(t, hub, () => callUnary(hub.client, 'DeleteNamespace', { name: 'secure-api.local' }), grpc.status.FAILED_PRECONDITION, 'name');
  await unchangedAfter(t, hub, () => callUnary(hub.client, 'DeleteNamespace', { name: 'nowhere' }), grpc.status.NOT_FOUND, 'name');
  await callUnary(hub.client, 'DeleteService', { namespace: 'secure-api.local', name: 'worker' });
  const gone = await callUnary(hub.client, 'DeleteNamespace', { name: 'secure-api.local' });
  t.is(gone.name, 'secure-api.local');
  t.deepEqual((await callUnary(hub.client, 'ListNamespaces', {})).namespaces ?? [], []);
});

test('an empty required name is INVALID_ARGUMENT naming the field, never NOT_FOUND for ""', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  await callUnary(hub.client, 'CreateNamespace', { name: 'shop.local' });
  await callUnary(hub.client, 'PutService', { namespace: 'shop.local', name: 'cart' });
  const INVALID = grpc.status.INVALID_ARGUMENT;
  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    ['PutService', () => callUnary(hub.client, 'PutService', { namespace: 'shop.local' }), /^name: is required \(the service's name, a DNS label\)$/],
    ['GetService', () => callUnary(hub.client, 'GetService', { namespace: 'shop.local', name: '' }), /^name: is required/],
    ['DeleteService', () => callUnary(hub.client, 'DeleteService', { namespace: 'shop.local' }), /^name: is required/],
    ['CreateNamespace', () => callUnary(hub.client, 'CreateNamespace', { description: 'no name' }), /^name: is required \(the namespace's name, a DNS name such as shop\.local\)$/],
    ['DeleteNamespace', () => callUnary(hub.client, 'DeleteNamespace', {}), /^name: is required/],
  ];
  for (const [rpc, call, message] of cases) {
    const err = await unchangedAfter(t, hub, call, INVALID, 'name');
    t.regex(err.details, message, rpc);
  }
  // A caller still using the old field names sends an unknown field (dropped by protobuf) and
  // no name: it is told which field to set.
  const old = await unchangedAfter(t, hub, () => callUnary(hub.client, 'DeleteNamespace', { namespace: 'shop.local' } as never), INVALID, 'name');
  t.regex(old.details, /^name: is required/);
  t.truthy(hub.registry.getNamespace('shop.local'));
});

test('an error naming a non-ASCII or huge key travels encoded and clipped, and the hub keeps answering (found by fuzzing: it stopped the hub before)', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  const put = (key: string) => () => callUnary(hub.client, 'PutService', { namespace: 'shop.local', name: 'cart', config: { fields: { [key]: { numberValue: 1 } } } });
  // grpc-js takes only printable ASCII in metadata: the field is percent-encoded, and read back as sent.
  const accented = await unchangedAfter(t, hub, put('délai'), grpc.status.INVALID_ARGUMENT, 'config.délai');
  t.is(accented.metadata.get('outrigger-error-field')[0], 'config.d%C3%A9lai');
  t.regex(accented.details, /unknown key "délai"/);
  // A 70,000-character key would make headers no client accepts: field and message are clipped.
  const huge = await rejectsWith(t, put('é'.repeat(70_000))(), grpc.status.INVALID_ARGUMENT);
  t.true(Buffer.byteLength(huge.details) <= 1024 && huge.details.endsWith('…'), `${Buffer.byteLength(huge.details)} bytes of details`);
  const field = errorDetails(huge).field ?? '';
  t.true(field.startsWith('config.éé') && Buffer.byteLength(field) <= 256, `field of ${Buffer.byteLength(field)} bytes`);
  t.is((await callUnary(hub.client, 'PutService', { namespace: 'shop.local', name: 'cart', config: toStruct({ timeout_ms: 500 }) })).name, 'cart', 'the hub still answers');
});
