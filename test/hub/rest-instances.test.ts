import test from 'ava';
import { call, startRestServer } from '../helpers/http-rest-server.js';

const AI_CORE_BODY = {
  name: 'user-service',
  version: '1.2.0',
  address: '192.168.1.100',
  port: 8080,
  protocol: 'http',
  weight: 100,
  ttl: 30,
  metadata: { environment: 'production', region: 'us-west-2' },
};

async function setup(t: { teardown(fn: () => Promise<void>): void }) {
  const server = await startRestServer();
  t.teardown(() => server.close());
  return server;
}

test("POST /api/v1/services takes AI-CORE's body and answers 201 with the instance JSON", async (t) => {
  const server = await setup(t);
  const r = await call(server, 'POST', '/api/v1/services', AI_CORE_BODY);
  t.is(r.status, 201);
  t.regex(r.headers.get('content-type') ?? '', /^application\/json/);
  const inst = r.json.data;
  t.regex(inst.id, /^[0-9a-f-]{36}$/, 'an id is generated when none is given');
  t.is(r.headers.get('location'), `/api/v1/services/${inst.id}`);
  t.deepEqual(inst, {
    id: inst.id,
    service: 'user-service',
    namespace: 'default',
    address: '192.168.1.100',
    port: 8080,
    protocol: 'http',
    version: '1.2.0',
    zone: '',
    region: '',
    weight: 100,
    metadata: { environment: 'production', region: 'us-west-2' },
    health: 'HEALTHY',
    source: 'self',
    lease: {
      ttl_ms: 30_000,
      deregister_critical_after_ms: 90_000,
      held: false,
      renewed_at: '2023-11-14T22:13:20.000Z',
      expired_at: null,
    },
    registered_at: '2023-11-14T22:13:20.000Z',
    updated_at: '2023-11-14T22:13:20.000Z',
    revision: 3,
  });
  t.is(server.registry.getInstance(inst.id)?.address, '192.168.1.100');
});

test('POST /api/v1/services takes our fields too, and answers 200 when it replaces an id', async (t) => {
  const server = await setup(t);
  const body = {
    id: 'user-1',
    service: 'user-service',
    namespace: 'shop.local',
    address: '10.0.0.7',
    port: 9090,
    protocol: 'grpc',
    zone: 'us-west-2a',
    region: 'us-west-2',
    health: 'draining',
    deregister_critical_after: '5m',
    ttl: '10s',
  };
  const first = await call(server, 'POST', '/api/v1/services', body);
  t.is(first.status, 201);
  t.is(first.json.data.namespace, 'shop.local');
  t.is(first.json.data.health, 'DRAINING', 'health words are accepted in any case');
  t.is(first.json.data.lease.ttl_ms, 10_000);
  t.is(first.json.data.lease.deregister_critical_after_ms, 300_000);
  server.clock.advance(5000);
  const second = await call(server, 'POST', '/api/v1/services', { ...body, port: 9091, health: 'HEALTHY' });
  t.is(second.status, 200);
  t.is(second.json.data.port, 9091);
  t.is(second.json.data.registered_at, first.json.data.registered_at, 'a replacement keeps the registration time');
  t.not(second.json.data.updated_at, first.json.data.updated_at);
  t.is(server.registry.instancesOf('shop.local', 'user-service').length, 1, 'never duplicated');
});

test('GET /api/v1/services lists every instance, filtered by namespace, service_name and health', async (t) => {
  const server = await setup(t);
  const reg = (id: string, service: string, namespace: string, health = 'HEALTHY') =>
    call(server, 'POST', '/api/v1/services', { id, service, namespace, address: '10.0.0.1', port: 80, health });
  await reg('a', 'api', 'one.local');
  await reg('b', 'api', 'two.local', 'UNHEALTHY');
  await reg('c', 'web', 'one.local', 'DRAINING');

  const all = await call(server, 'GET', '/api/v1/services');
  t.is(all.status, 200);
  t.deepEqual(all.json.data.services.map((i: { id: string }) => i.id), ['a', 'b', 'c'], 'all, whatever their health, by id');
  t.is(all.json.data.count, 3);
  t.is(all.json.data.registry_version, server.registry.version);

  const ids = async (query: string) => (await call(server, 'GET', `/api/v1/services?${query}`)).json.data.services.map((i: { id: string }) => i.id);
  t.deepEqual(await ids('namespace=one.local'), ['a', 'c']);
  t.deepEqual(await ids('service_name=api'), ['a', 'b']);
  t.deepEqual(await ids('health=unhealthy,draining'), ['b', 'c']);
  t.deepEqual(await ids('namespace=one.local&service_name=api&health=HEALTHY'), ['a']);
  // The dotted <service>.<namespace> form, as the sidecar, xDS and `outrigger endpoints` write it.
  t.deepEqual(await ids('service_name=api.two.local'), ['b']);
  t.deepEqual(await ids('service_name=api.one.local&namespace=one.local'), ['a'], 'a namespace that agrees is fine');
});

test('GET and DELETE /api/v1/services/{id}', async (t) => {
  const server = await setup(t);
  await call(server, 'POST', '/api/v1/services', { id: 'pod-1:8080', name: 'echo', address: '10.0.0.1', port: 8080 });
  const got = await call(server, 'GET', `/api/v1/services/${encodeURIComponent('pod-1:8080')}`);
  t.is(got.status, 200);
  t.is(got.json.data.id, 'pod-1:8080');
  const head = await fetch(`${server.url}/api/v1/services/pod-1:8080`, { method: 'HEAD' });
  t.is(head.status, 200, 'HEAD works wherever GET does');

  const deleted = await call(server, 'DELETE', '/api/v1/services/pod-1:8080');
  t.is(deleted.status, 200);
  t.is(deleted.json.data.id, 'pod-1:8080');
  t.is(server.registry.getInstance('pod-1:8080'), undefined);
  t.is((await call(server, 'GET', '/api/v1/services/pod-1:8080')).status, 404);
});

test('POST /api/v1/services/{id}/heartbeat renews the lease, with or without a status', async (t) => {
  const server = await setup(t);
  await call(server, 'POST', '/api/v1/services', { id: 'a', name: 'echo', address: '10.0.0.1', port: 8080, ttl: 10 });
  server.clock.advance(11_000);
  server.registry.sweep();
  const expired = await call(server, 'GET', '/api/v1/services/a');
  t.is(expired.json.data.health, 'UNHEALTHY');
  t.is(expired.json.data.lease.expired_at, '2023-11-14T22:13:31.000Z');

  const renewed = await call(server, 'POST', '/api/v1/services/a/heartbeat');
  t.is(renewed.status, 200, 'no body at all is fine');
  t.is(renewed.json.data.health, 'HEALTHY');
  t.is(renewed.json.data.lease.expired_at, null);
  t.is(renewed.json.data.lease.renewed_at, '2023-11-14T22:13:31.000Z');

  // AI-CORE's body, case-insensitive status words.
  const cases: [string, string][] = [['unhealthy', 'UNHEALTHY'], ['Maintenance', 'DRAINING'], ['UNKNOWN', 'UNKNOWN'], ['healthy', 'HEALTHY'], ['draining', 'DRAINING']];
  for (const [status, health] of cases) {
    const r = await call(server, 'POST', '/api/v1/services/a/heartbeat', { service_id: 'a', status });
    t.is(r.status, 200);
    t.is(r.json.data.health, health, status);
  }
  const empty = await call(server, 'POST', '/api/v1/services/a/heartbeat', '', { 'content-type': 'application/json' });
  t.is(empty.status, 200, 'an empty JSON body is no body');
});

test('PUT /api/v1/services/{id}/health sets the reported health', async (t) => {
  const server = await setup(t);
  await call(server, 'POST', '/api/v1/services', { id: 'a', name: 'echo', address: '10.0.0.1', port: 8080 });
  const r = await call(server, 'PUT', '/api/v1/services/a/health', { health: 'DRAINING' });
  t.is(r.status, 200);
  t.is(r.json.data.health, 'DRAINING');
  t.is(server.registry.getInstance('a')?.health, 'DRAINING');
  const discovered = await call(server, 'GET', '/api/v1/discover?service_name=echo');
  t.is(discovered.json.data.count, 0, 'a DRAINING instance is not discovered as healthy');
});

test('GET /api/v1/discover answers AI-CORE\'s data.services, healthy only by default', async (t) => {
  const server = await setup(t);
  const reg = (id: string, extra: Record<string, unknown>) =>
    call(server, 'POST', '/api/v1/services', { id, name: 'user-service', namespace: 'shop.local', address: '10.0.0.1', port: 8080, ...extra });
  await reg('a', { version: '1.2.0', zone: 'z1', metadata: { environment: 'production', team: 'blue' } });
  await reg('b', { version: '1.2.0', zone: 'z2', metadata: { environment: 'production' } });
  await reg('c', { version: '1.3.0', zone: 'z1', metadata: { environment: 'staging' } });
  await reg('d', { version: '1.2.0', zone: 'z1', health: 'UNHEALTHY' });
  await call(server, 'POST', '/api/v1/services', { id: 'x', name: 'other', namespace: 'shop.local', address: '10.0.0.2', port: 80 });

  const ids = async (query: string) => {
    const r = await call(server, 'GET', `/api/v1/discover?${query}`);
    t.is(r.status, 200, query);
    t.is(r.json.data.count, r.json.data.services.length);
    return r.json.data.services.map((i: { id: string }) => i.id);
  };
  t.deepEqual(await ids('service_name=user-service'), ['a', 'b', 'c']);
  t.deepEqual(await ids('service_name=user-service&namespace=shop.local&version=1.2.0'), ['a', 'b']);
  t.deepEqual(await ids('service_name=user-service&zone=z1'), ['a', 'c']);
  t.deepEqual(await ids('service_name=user-service&healthy_only=false'), ['a', 'b', 'c', 'd']);
  t.deepEqual(await ids('service_name=user-service&include_unhealthy=true'), ['a', 'b', 'c', 'd'], "AI-CORE's spelling");
  t.deepEqual(await ids('service_name=user-service&metadata.environment=production'), ['a', 'b']);
  t.deepEqual(await ids('service_name=user-service&metadata.environment=production&metadata.team=blue'), ['a']);
  t.deepEqual(await ids('service_name=user-service&limit=2'), ['a', 'b']);
  t.deepEqual(await ids('namespace=shop.local'), ['a', 'b', 'c', 'x'], 'service_name is optional');
  t.deepEqual(await ids('service_name=nobody'), [], 'an unknown service is an empty answer, not an error');
  t.deepEqual(await ids('service_name=user-service&limit=10000'), ['a', 'b', 'c']);
  t.deepEqual(await ids('service_name=user-service.shop.local'), ['a', 'b', 'c'], 'service user-service in namespace shop.local');
  t.deepEqual(await ids('service_name=user-service.shop.local&namespace=shop.local&zone=z1'), ['a', 'c']);
  t.deepEqual(await ids('service_name=user-service.elsewhere.local'), [], 'another namespace');
});
