import test from 'ava';
import { call, startRestServer } from '../helpers/http-rest-server.js';

async function setup(t: { teardown(fn: () => Promise<void>): void }) {
  const server = await startRestServer();
  t.teardown(() => server.close());
  return server;
}

test('namespaces: create, list, get, delete', async (t) => {
  const server = await setup(t);
  const created = await call(server, 'POST', '/api/v1/namespaces', { name: 'shop.local', description: 'the shop' });
  t.is(created.status, 201);
  t.is(created.headers.get('location'), '/api/v1/namespaces/shop.local');
  t.deepEqual(created.json.data, { name: 'shop.local', description: 'the shop', service_count: 0, created_at: '2023-11-14T22:13:20.000Z', revision: 1 });
  await call(server, 'POST', '/api/v1/namespaces', { name: 'a.local' });

  const list = await call(server, 'GET', '/api/v1/namespaces');
  t.is(list.status, 200);
  t.deepEqual(list.json.data.namespaces.map((n: { name: string }) => n.name), ['a.local', 'shop.local']);
  t.is(list.json.data.count, 2);

  await call(server, 'POST', '/api/v1/services', { id: 'i', name: 'cart', namespace: 'shop.local', address: '10.0.0.1', port: 80 });
  const one = await call(server, 'GET', '/api/v1/namespaces/shop.local');
  t.is(one.status, 200);
  t.is(one.json.data.service_count, 1);

  const deleted = await call(server, 'DELETE', '/api/v1/namespaces/a.local');
  t.is(deleted.status, 200);
  t.is(deleted.json.data.name, 'a.local');
  t.is(server.registry.getNamespace('a.local'), undefined);
});

test('service configs: put (create, then replace), get, list, instances, delete', async (t) => {
  const server = await setup(t);
  const path = '/api/v1/namespaces/shop.local/services/cart';
  const created = await call(server, 'PUT', path, { lb_policy: 'least_request', circuit_breakers: { max_requests: 50 } });
  t.is(created.status, 201, 'PUT creates the service (and its namespace) like a registration would');
  t.is(created.headers.get('location'), path);
  t.is(created.json.data.key, 'cart.shop.local');
  t.is(created.json.data.config.lb_policy, 'least_request');
  t.is(created.json.data.config.circuit_breakers.max_requests, 50);
  t.is(created.json.data.config.circuit_breakers.max_connections, 1024, 'omitted fields take their defaults');
  t.truthy(server.registry.getNamespace('shop.local'));

  const replaced = await call(server, 'PUT', path, { lb_policy: 'consistent_hash', lb_options: { hash_on: 'header', name: 'x-user' }, health_check: { ttl_ms: 10_000 } });
  t.is(replaced.status, 200);
  t.is(replaced.json.data.config.lb_policy, 'consistent_hash');
  t.is(replaced.json.data.config.circuit_breakers.max_requests, 1024, 'PUT replaces the whole config');
  t.is(server.registry.getService('shop.local', 'cart')?.config.health_check.ttl_ms, 10_000);

  const got = await call(server, 'GET', path);
  t.is(got.status, 200);
  t.deepEqual(got.json.data.config, replaced.json.data.config);

  await call(server, 'POST', '/api/v1/services', { id: 'b', name: 'cart', namespace: 'shop.local', address: '10.0.0.2', port: 80 });
  await call(server, 'POST', '/api/v1/services', { id: 'a', name: 'cart', namespace: 'shop.local', address: '10.0.0.1', port: 80, health: 'UNHEALTHY' });
  await call(server, 'PUT', '/api/v1/namespaces/shop.local/services/users', {});
  const list = await call(server, 'GET', '/api/v1/namespaces/shop.local/services');
  t.is(list.status, 200);
  t.deepEqual(list.json.data.services.map((s: { name: string; instance_count: number }) => [s.name, s.instance_count]), [['cart', 2], ['users', 0]]);

  const instances = await call(server, 'GET', `${path}/instances`);
  t.is(instances.status, 200);
  t.deepEqual(instances.json.data.instances.map((i: { id: string; health: string }) => [i.id, i.health]), [['a', 'UNHEALTHY'], ['b', 'HEALTHY']]);
  t.is(instances.json.data.instances[0].lease.ttl_ms, 10_000, 'lease defaults come from the service config');

  await call(server, 'DELETE', '/api/v1/services/a');
  await call(server, 'DELETE', '/api/v1/services/b');
  const deleted = await call(server, 'DELETE', path);
  t.is(deleted.status, 200);
  t.is(deleted.json.data.key, 'cart.shop.local');
  t.is(server.registry.getService('shop.local', 'cart'), undefined);
  t.is((await call(server, 'GET', path)).status, 404);
});

test('a service whose instances all expired can be deleted', async (t) => {
  const server = await setup(t);
  await call(server, 'POST', '/api/v1/services', { id: 'a', name: 'cart', namespace: 'shop.local', address: '10.0.0.1', port: 80, ttl: 5 });
  server.clock.advance(6000);
  server.registry.sweep();
  const r = await call(server, 'DELETE', '/api/v1/namespaces/shop.local/services/cart');
  t.is(r.status, 200);
  t.is(server.registry.getInstance('a'), undefined);
});
