/**
 * Delta (incremental) xDS on the hub: subscribe and unsubscribe, per-resource versions, removals,
 * reconnect with initial_resource_versions, ACK and NACK, and the same access filtering as a
 * state-of-the-world stream.
 */
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import type { DeltaTypeInfo } from '../../src/xds/server/delta-subscription.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '../../src/xds/type-urls.js';
import { startAuthHub } from '../helpers/auth-hub.js';
import { until } from '../helpers/wait.js';
import { DeltaTestStream, type DeltaResponse } from '../helpers/xds-delta-client.js';
import { registerInstance, startXdsHub, type XdsHub } from '../helpers/xds-hub.js';

const COALESCE_MS = 10;
const svc = (i: number): string => `svc-${i}.demo.local`;

async function deltaHub(t: { teardown(fn: () => void | Promise<void>): void }, services: number): Promise<{ hub: XdsHub; clock: ManualClock; open(node: string): DeltaTestStream; flush(): void }> {
  const clock = new ManualClock();
  const hub = await startXdsHub({ clock, coalesceMs: COALESCE_MS });
  const streams: DeltaTestStream[] = [];
  t.teardown(async () => {
    for (const s of streams) s.closeClient();
    await hub.close();
  });
  for (let i = 0; i < services; i++) registerInstance(hub.registry, { id: `i-${i}`, service: `svc-${i}`, address: `10.0.0.${i + 1}`, port: 80 });
  clock.advance(COALESCE_MS);
  return {
    hub,
    clock,
    flush: () => clock.advance(COALESCE_MS),
    open(node) {
      const s = DeltaTestStream.open(hub.address, node);
      streams.push(s);
      return s;
    },
  };
}

const typeInfo = (hub: XdsHub, node: string): DeltaTypeInfo | undefined =>
  hub.ads.describeStreams().find((s) => s.node === node && s.protocol === 'delta')?.types.find((ty): ty is DeltaTypeInfo => ty.type_url === ENDPOINT_TYPE_URL && 'resource_versions' in ty);

async function acked(hub: XdsHub, s: DeltaTestStream, r: DeltaResponse): Promise<void> {
  s.ack(r);
  await until(`the ACK of ${r.nonce}`, () => typeInfo(hub, s.nodeId)?.acked_version === r.system_version_info);
}

test('a stream subscribed to 50 services receives only the changed one; unsubscribe stops pushes; a removal is sent as removed_resources', async (t) => {
  const f = await deltaHub(t, 51);
  const s = f.open('fifty');
  const fifty = Array.from({ length: 50 }, (_, i) => svc(i));
  s.request(ENDPOINT_TYPE_URL, { subscribe: fifty });
  const first = await s.next();
  t.deepEqual(first.versions.map(([n]) => n).sort(), [...fifty].sort(), 'all 50 at first, each with its version');
  t.deepEqual(first.removed, []);
  await acked(f.hub, s, first);

  registerInstance(f.hub.registry, { id: 'i-7b', service: 'svc-7', address: '10.0.1.7', port: 80 });
  f.flush();
  const change = await s.next();
  t.deepEqual(change.versions.map(([n]) => n), [svc(7)], 'only the changed service');
  const v7 = change.versions[0]![1];
  t.not(v7, first.versions.find(([n]) => n === svc(7))![1], 'a new per-resource version');
  t.is((change.resources[0]!['endpoints'] as Array<{ lb_endpoints: unknown[] }>)[0]!.lb_endpoints.length, 2);
  await acked(f.hub, s, change);
  t.is(typeInfo(f.hub, 'fifty')!.resource_versions[svc(7)], v7);

  // A service it does not watch changes: nothing. Then it unsubscribes svc-3 and subscribes svc-50.
  registerInstance(f.hub.registry, { id: 'i-50b', service: 'svc-50', address: '10.0.1.50', port: 80 });
  f.flush();
  s.request(ENDPOINT_TYPE_URL, { subscribe: [svc(50)], unsubscribe: [svc(3)] });
  const added = await s.next();
  t.deepEqual(added.versions.map(([n]) => n), [svc(50)]);
  await acked(f.hub, s, added);
  t.false(typeInfo(f.hub, 'fifty')!.names.includes(svc(3)));
  registerInstance(f.hub.registry, { id: 'i-3b', service: 'svc-3', address: '10.0.1.3', port: 80 });
  f.hub.registry.deregister('i-9');
  f.hub.registry.deleteService('demo.local', 'svc-9');
  f.flush();
  const removal = await s.next();
  t.deepEqual(removal.versions, [], 'nothing of the unsubscribed svc-3');
  t.deepEqual(removal.removed, [svc(9)]);
  await acked(f.hub, s, removal);
  t.is(s.unread, 0);
});

test('reconnect with initial_resource_versions: only what changed meanwhile is sent, and what is gone is removed', async (t) => {
  const f = await deltaHub(t, 4);
  const s = f.open('first');
  s.request(ENDPOINT_TYPE_URL, { subscribe: [svc(0), svc(1), svc(2), svc(3)] });
  const first = await s.next();
  await acked(f.hub, s, first);
  const held = Object.fromEntries(first.versions);
  s.closeClient();
  registerInstance(f.hub.registry, { id: 'i-1b', service: 'svc-1', address: '10.0.2.1', port: 80 });
  f.hub.registry.deregister('i-2');
  f.hub.registry.deleteService('demo.local', 'svc-2');
  f.flush();

  const again = f.open('again');
  again.request(ENDPOINT_TYPE_URL, { subscribe: [svc(0), svc(1), svc(2), svc(3)], initial: held });
  const r = await again.next();
  t.deepEqual(r.versions.map(([n]) => n), [svc(1)], 'only the service that changed while away');
  t.deepEqual(r.removed, [svc(2)]);
  await acked(f.hub, again, r);
  t.deepEqual(Object.keys(typeInfo(f.hub, 'again')!.resource_versions), [svc(0), svc(1), svc(3)]);
  t.is(again.unread, 0);
});

test('a NACK keeps the last good version of each resource; the next change is sent', async (t) => {
  const f = await deltaHub(t, 1);
  const s = f.open('nacker');
  s.request(ENDPOINT_TYPE_URL, { subscribe: [svc(0)] });
  const r1 = await s.next();
  await acked(f.hub, s, r1);
  const good = r1.versions[0]![1];
  registerInstance(f.hub.registry, { id: 'i-0b', service: 'svc-0', address: '10.0.3.1', port: 80 });
  f.flush();
  const r2 = await s.next();
  s.nack(r2, 'endpoints rejected');
  await until('the NACK', () => typeInfo(f.hub, 'nacker')?.nack !== undefined);
  const info = typeInfo(f.hub, 'nacker')!;
  t.deepEqual(info.nack, { nonce: r2.nonce, message: 'endpoints rejected' });
  t.is(info.resource_versions[svc(0)], good, 'the version the client kept');
  t.is(info.acked_version, r1.system_version_info);
  registerInstance(f.hub.registry, { id: 'i-0c', service: 'svc-0', address: '10.0.3.2', port: 80 });
  f.flush();
  const r3 = await s.next();
  t.deepEqual(r3.versions.map(([n]) => n), [svc(0)]);
  await acked(f.hub, s, r3);
  t.is(typeInfo(f.hub, 'nacker')!.nack, undefined);
});

test('delta streams see only what their identity may read, as state-of-the-world streams do', async (t) => {
  const h = await startAuthHub({}, { logLevel: 'warn' });
  t.teardown(() => h.close());
  h.hub.registry.register({ id: 'c-1', service: 'cart', namespace: 'shop.local', address: '127.0.0.1', port: 9000, ttl: 0 });
  h.hub.registry.register({ id: 's-1', service: 'vault', namespace: 'secret.local', address: '127.0.0.1', port: 9000, ttl: 0 });
  const token = await h.token('service', ['shop.local/cart'], { reads: ['shop.local'] });
  const s = DeltaTestStream.open(h.addresses.grpc, 'cart-1', token);
  t.teardown(() => s.closeClient());
  s.request(CLUSTER_TYPE_URL, {});
  const cds = await s.next();
  t.deepEqual(cds.versions.map(([n]) => n), ['cart.shop.local'], 'a wildcard: only what it may read');
  s.ack(cds);
  s.request(ENDPOINT_TYPE_URL, { subscribe: ['cart.shop.local', 'vault.secret.local'] });
  const eds = await s.next();
  t.deepEqual(eds.versions.map(([n]) => n), ['cart.shop.local'], 'vault.secret.local is absent to this stream');
});

test('subscriptions add up over requests, so they are bounded per type: past the bound the stream ends with INVALID_ARGUMENT naming the field', async (t) => {
  const f = await deltaHub(t, 0);
  const s = f.open('greedy');
  const batch = (from: number): string[] => Array.from({ length: 6000 }, (_, i) => `n-${from + i}.demo.local`);
  s.request(ENDPOINT_TYPE_URL, { subscribe: batch(0) });
  await until('the first 6,000 names subscribed', () => (typeInfo(f.hub, 'greedy')?.names.length ?? 0) === 6000);
  s.request(ENDPOINT_TYPE_URL, { subscribe: batch(6000) });
  const status = await s.status();
  t.is(status.code, grpc.status.INVALID_ARGUMENT);
  t.regex(status.details, /^resource_names_subscribe: at most 10000 resource names may be subscribed per type on one stream; this request would make 12000$/);
});
