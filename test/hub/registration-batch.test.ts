/**
 * Bulk registration, gRPC RegisterBatch and REST POST /api/v1/services:batch: per-item results,
 * a bad or refused item refuses only itself (its error names its index and field), every item
 * goes through the same access check as a single registration, and a batch reaches an xDS
 * subscriber as one push.
 */
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import { ENDPOINT_TYPE_URL } from '../../src/xds/type-urls.js';
import { startAuthHub } from '../helpers/auth-hub.js';
import { AdsTestStream } from '../helpers/xds-ads-client.js';
import { metricValue } from '../helpers/xds-hub.js';

const inst = (id: string, service: string, namespace: string, port: unknown = 8080) => ({ id, name: service, namespace, address: '10.0.0.1', port, ttl: 0 });

test('REST batch: per-item results; a bad item refuses only itself, naming its index and field', async (t) => {
  const h = await startAuthHub({}, { logLevel: 'warn' });
  t.teardown(() => h.close());
  const r = await h.rest('POST', '/api/v1/services:batch', h.admin, { items: [inst('a-1', 'api', 'a.local'), inst('a-2', 'api', 'a.local', 70_000), inst('a-3', 'api', 'a.local'), 'oops'] });
  t.is(r.status, 200);
  t.is(r.json.data.registered, 2);
  t.is(r.json.data.failed, 2);
  t.deepEqual(r.json.data.results.map((x: { index: number }) => x.index), [0, 1, 2, 3]);
  t.is(r.json.data.results[0].data.id, 'a-1');
  t.is(r.json.data.results[1].error.code, 'invalid_argument');
  t.is(r.json.data.results[1].error.field, 'items[1].port');
  t.regex(r.json.data.results[1].error.message, /^items\[1\]\.port: /);
  t.is(r.json.data.results[3].error.field, 'items[3]');
  t.deepEqual(h.hub.registry.discover({ service: 'api', namespace: 'a.local', healthyOnly: false }).map((i) => i.id), ['a-1', 'a-3']);

  const notAList = await h.rest('POST', '/api/v1/services:batch', h.admin, { items: {} });
  t.is(notAList.status, 400);
  t.is(notAList.json.error.field, 'items');
  const unknownKey = await h.rest('POST', '/api/v1/services:batch', h.admin, { instances: [] });
  t.is(unknownKey.status, 400);
  t.is(unknownKey.json.error.field, 'instances');
});

test('batch: a service identity may register only its own service; the other items are refused, each on its own', async (t) => {
  const h = await startAuthHub({}, { logLevel: 'warn' });
  t.teardown(() => h.close());
  const api = await h.token('service', ['a.local/api']);
  const r = await h.rest('POST', '/api/v1/services:batch', api, { items: [inst('a-1', 'api', 'a.local'), inst('w-1', 'web', 'a.local'), inst('a-2', 'api', 'a.local')] });
  t.is(r.status, 200);
  t.is(r.json.data.registered, 2);
  t.is(r.json.data.results[1].error.code, 'permission_denied');
  t.is(r.json.data.results[1].error.field, 'items[1]');
  t.regex(r.json.data.results[1].error.message, /instance:write on web\.a\.local is not allowed/);
  t.is(h.hub.registry.getInstance('w-1'), undefined, 'the refused item changed nothing');

  // The same over gRPC.
  const g = (await h.grpc('RegisterBatch', { items: [{ id: 'w-2', service: 'web', namespace: 'a.local', address: '10.0.0.2', port: 80 }, { id: 'a-3', service: 'api', namespace: 'a.local', address: '10.0.0.3', port: 80 }] }, api)) as {
    results: Array<{ instance?: { id: string }; error?: { grpc_code: number; code: string; field: string } }>;
    registered: number;
    failed: number;
  };
  t.is(g.registered, 1);
  t.is(g.failed, 1);
  t.is(g.results[0]!.error!.grpc_code, grpc.status.PERMISSION_DENIED);
  t.is(g.results[0]!.error!.field, 'items[0]');
  t.is(g.results[1]!.instance!.id, 'a-3');
  t.is(h.hub.registry.getInstance('w-2'), undefined);
});

test('gRPC RegisterBatch: a batch reaches an xDS subscriber as one push; a bad item names items[i].field', async (t) => {
  const clock = new ManualClock();
  const h = await startAuthHub({}, { clock, logLevel: 'warn' });
  const s = AdsTestStream.open(h.addresses.grpc, 'batch-watcher', h.admin);
  t.teardown(async () => {
    s.closeClient();
    await h.close();
  });
  await h.grpc('Register', { id: 'api-first', service: 'api', namespace: 'a.local', address: '10.0.0.1', port: 8080 }, h.admin);
  clock.advance(1000);
  s.request(ENDPOINT_TYPE_URL, ['api.a.local']);
  t.deepEqual((await s.next()).names, ['api.a.local']);
  const pushesBefore = await metricValue(h.hub.metrics.pushes, { api: 'xds', type: ENDPOINT_TYPE_URL });
  const items: Array<Record<string, unknown>> = Array.from({ length: 20 }, (_, i) => ({ id: `api-${i}`, service: 'api', namespace: 'a.local', address: `10.0.1.${i + 1}`, port: 8080 }));
  items.splice(7, 0, { id: 'bad', service: 'api', namespace: 'a.local', address: 'not an address!', port: 8080 });
  const g = (await h.grpc('RegisterBatch', { items }, h.admin)) as { results: Array<{ error?: { field: string } }>; registered: number; failed: number };
  t.is(g.registered, 20);
  t.is(g.failed, 1);
  t.is(g.results[7]!.error!.field, 'items[7].address');
  clock.advance(1000);
  const push = await s.next();
  t.deepEqual(push.names, ['api.a.local']);
  const endpoints = (push.resources[0]!['endpoints'] as Array<{ lb_endpoints: unknown[] }>).flatMap((e) => e.lb_endpoints);
  t.is(endpoints.length, 21, 'the whole batch (and the first instance) in the one push');
  t.is(await metricValue(h.hub.metrics.pushes, { api: 'xds', type: ENDPOINT_TYPE_URL }), pushesBefore + 1);
});
