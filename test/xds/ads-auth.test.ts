/**
 * xDS within a caller's rights: an ADS stream receives only the resources its identity may read.
 * A resource it names and may not read is absent to it, as an unregistered one would be.
 */
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '../../src/xds/type-urls.js';
import { startAuthHub } from '../helpers/auth-hub.js';
import { until } from '../helpers/wait.js';
import { AdsTestStream } from '../helpers/xds-ads-client.js';
import { metricValue } from '../helpers/xds-hub.js';

test('a stream sees only the clusters its identity may read; a named one out of scope is treated as absent', async (t) => {
  const h = await startAuthHub();
  t.teardown(() => h.close());
  for (const [id, svc, ns] of [['c-1', 'cart', 'shop.local'], ['u-1', 'users', 'shop.local'], ['s-1', 'vault', 'secret.local']] as const) {
    h.hub.registry.register({ id, service: svc, namespace: ns, address: '127.0.0.1', port: 9000, ttl: 0, health: 'HEALTHY' });
  }
  const sidecar = await h.token('service', ['shop.local/cart'], { reads: ['shop.local'] });
  const s = AdsTestStream.open(h.addresses.grpc, 'cart-1', sidecar);
  t.teardown(() => s.closeClient());
  s.request(CLUSTER_TYPE_URL, []);
  const cds = await s.next();
  t.deepEqual(cds.names.sort(), ['cart.shop.local', 'users.shop.local'], 'a wildcard subscription: only what it may read');
  s.ack(cds, []);
  s.request(ENDPOINT_TYPE_URL, ['users.shop.local', 'vault.secret.local']);
  const eds = await s.next();
  t.deepEqual(eds.names, ['users.shop.local'], 'vault.secret.local is absent to this stream');
  t.like(h.logs.find((l) => l.msg === 'audit' && l.result === 'permission_denied'), { op: 'StreamAggregatedResources', action: 'service:read', resource: 'vault.secret.local' });

  const admin = AdsTestStream.open(h.addresses.grpc, 'admin', h.admin);
  t.teardown(() => admin.closeClient());
  admin.request(CLUSTER_TYPE_URL, []);
  t.deepEqual((await admin.next()).names.sort(), ['cart.shop.local', 'users.shop.local', 'vault.secret.local'], 'an admin sees everything');

  const nobody = AdsTestStream.open(h.addresses.grpc, 'nobody');
  t.teardown(() => nobody.closeClient());
  nobody.request(CLUSTER_TYPE_URL, []);
  const status = await nobody.status();
  t.is(status.code, grpc.status.UNAUTHENTICATED);
});

test('two viewers with different scopes never share a wildcard response', async (t) => {
  const h = await startAuthHub({}, { logLevel: 'warn' });
  t.teardown(() => h.close());
  h.hub.registry.register({ id: 'a-1', service: 'api', namespace: 'a.local', address: '127.0.0.1', port: 9000, ttl: 0 });
  h.hub.registry.register({ id: 'b-1', service: 'api', namespace: 'b.local', address: '127.0.0.1', port: 9000, ttl: 0 });
  const views: string[][] = [];
  for (const scope of ['a.local', 'b.local']) {
    const s = AdsTestStream.open(h.addresses.grpc, `viewer-${scope}`, await h.token('viewer', [scope]));
    t.teardown(() => s.closeClient());
    s.request(CLUSTER_TYPE_URL, []);
    views.push((await s.next()).names);
  }
  t.deepEqual(views, [['api.a.local'], ['api.b.local']]);
});

test('streams count against their identity: past limits.max_streams_per_identity a new one is refused', async (t) => {
  const h = await startAuthHub({ limits: { max_streams_per_identity: 2 } });
  t.teardown(() => h.close());
  const token = await h.token('viewer', ['*']);
  const streams = [0, 1, 2].map((i) => AdsTestStream.open(h.addresses.grpc, `n-${i}`, token));
  t.teardown(() => streams.forEach((x) => x.closeClient()));
  for (const x of streams.slice(0, 2)) {
    x.request(CLUSTER_TYPE_URL, []);
    await x.next();
  }
  const third = await streams[2]!.status();
  t.is(third.code, grpc.status.RESOURCE_EXHAUSTED);
  t.regex(third.details, /already holds 2 open streams, the most allowed \(limits\.max_streams_per_identity\)/);
  streams[0]!.close();
  await until('the hub to see the stream closed', async () => (await metricValue(h.hub.metrics.subscribers, { api: 'xds' })) === 1);
  const again = AdsTestStream.open(h.addresses.grpc, 'n-3', token);
  t.teardown(() => again.closeClient());
  again.request(CLUSTER_TYPE_URL, []);
  t.truthy(await again.next(), 'a closed stream frees its place');
});
