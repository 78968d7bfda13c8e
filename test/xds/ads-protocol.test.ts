import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { createLogger } from '../../src/common/logger.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../src/xds/type-urls.js';
import { until } from '../helpers/wait.js';
import { AdsTestStream, type Response } from '../helpers/xds-ads-client.js';
import { metricValue, registerInstance, startXdsHub, type XdsHub } from '../helpers/xds-hub.js';

const COALESCE_MS = 10;

interface Fixture {
  hub: XdsHub;
  clock: ManualClock;
  logs: Array<Record<string, unknown>>;
  /** Ends the coalescing window: pending registry changes are pushed. */
  flush(): void;
  open(nodeId?: string): AdsTestStream;
}

async function fixture(t: { teardown(fn: () => void | Promise<void>): void }): Promise<Fixture> {
  const clock = new ManualClock();
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger('debug', {}, { write: (line) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const hub = await startXdsHub({ clock, logger, coalesceMs: COALESCE_MS });
  const streams: AdsTestStream[] = [];
  t.teardown(async () => {
    for (const s of streams) s.closeClient();
    await hub.close();
  });
  return {
    hub,
    clock,
    logs,
    flush: () => clock.advance(COALESCE_MS),
    open(nodeId?: string) {
      const s = AdsTestStream.open(hub.address, nodeId);
      streams.push(s);
      return s;
    },
  };
}

/** Waits until the hub has taken the client's ACK of `r` (so later pushes are not confused with it). */
async function acked(f: Fixture, s: AdsTestStream, r: Response, names: string[]): Promise<void> {
  s.ack(r, names);
  await until(
    `the ACK of ${r.type_url} ${r.version_info}`,
    () => f.hub.ads.describeStreams().some((i) => i.node === s.nodeId && i.types.some((ty) => ty.type_url === r.type_url && ty.acked_version === r.version_info)),
  );
}

test('the first request is answered; an ACK of the current version is not; a change is pushed', async (t) => {
  const f = await fixture(t);
  f.hub.registry.putService('demo.local', 'api');
  f.flush();
  const s = f.open();
  s.request(CLUSTER_TYPE_URL, ['api.demo.local']);
  const r1 = await s.next();
  t.is(r1.type_url, CLUSTER_TYPE_URL);
  t.deepEqual(r1.names, ['api.demo.local']);
  t.not(r1.nonce, '');
  await acked(f, s, r1, ['api.demo.local']);
  f.hub.registry.putService('demo.local', 'api', { lb_policy: 'least_request' });
  f.flush();
  const r2 = await s.next();
  t.true(Number(r2.version_info) > Number(r1.version_info), 'the next response is the change, not a reply to the ACK');
  t.deepEqual(r2.names, ['api.demo.local']);
  t.truthy(r2.resources[0]!['load_balancing_policy']);
  t.not(r2.nonce, r1.nonce);
  t.is(s.unread, 0);
});

test('a NACK keeps the last accepted version, is logged with its error_detail and counted', async (t) => {
  const f = await fixture(t);
  f.hub.registry.putService('demo.local', 'api');
  f.flush();
  const s = f.open('nacker');
  s.request(CLUSTER_TYPE_URL, ['api.demo.local']);
  const r1 = await s.next();
  await acked(f, s, r1, ['api.demo.local']);
  f.hub.registry.putService('demo.local', 'api', { timeout_ms: 1000 });
  f.flush();
  const r2 = await s.next();
  s.nack(r2, ['api.demo.local'], r1.version_info, 'cluster api.demo.local: something unsupported');
  await until('the NACK', () => f.hub.ads.describeStreams()[0]?.types[0]?.nack !== undefined);
  const info = f.hub.ads.describeStreams()[0]!.types[0]!;
  t.is(info.acked_version, r1.version_info, 'the last good version is kept');
  t.is(info.sent_version, r2.version_info);
  t.deepEqual(info.nack, { version: r2.version_info, nonce: r2.nonce, message: 'cluster api.demo.local: something unsupported' });
  t.is(await metricValue(f.hub.metrics.nacks, { type: CLUSTER_TYPE_URL }), 1);
  const line = f.logs.find((l) => String(l['msg']).includes('NACK'));
  t.is(line?.['error_detail'], 'cluster api.demo.local: something unsupported');
  t.is(line?.['node'], 'nacker');
  t.is(line?.['kept_version'], r1.version_info);
  // The rejected version is not sent again; the next change is.
  f.hub.registry.putService('demo.local', 'api', { timeout_ms: 2000 });
  f.flush();
  const r3 = await s.next();
  t.true(Number(r3.version_info) > Number(r2.version_info));
  s.ack(r3, ['api.demo.local']);
  await until('the ACK of r3', () => f.hub.ads.describeStreams()[0]?.types[0]?.acked_version === r3.version_info);
  t.is(f.hub.ads.describeStreams()[0]!.types[0]!.nack, undefined);
});

test('a resource that does not exist yet is pushed as soon as it is registered', async (t) => {
  const f = await fixture(t);
  const s = f.open();
  s.request(CLUSTER_TYPE_URL, ['later.demo.local']);
  const r1 = await s.next();
  t.deepEqual(r1.names, [], 'state of the world: not there yet');
  await acked(f, s, r1, ['later.demo.local']);
  s.request(ENDPOINT_TYPE_URL, ['later.demo.local']);
  await until('the EDS subscription', () => f.hub.ads.describeStreams()[0]!.types.length === 2);
  registerInstance(f.hub.registry, { id: 'later-1', service: 'later', port: 7001 });
  f.flush();
  const cds = await s.next();
  t.is(cds.type_url, CLUSTER_TYPE_URL);
  t.deepEqual(cds.names, ['later.demo.local']);
  const eds = await s.next();
  t.is(eds.type_url, ENDPOINT_TYPE_URL);
  t.deepEqual(eds.names, ['later.demo.local']);
  const lbs = (eds.resources[0]!['endpoints'] as Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { port_value: number } } } }> }>)[0]!.lb_endpoints;
  t.is(lbs[0]!.endpoint.address.socket_address.port_value, 7001);
});

test('two streams subscribed to different services receive only their own pushes', async (t) => {
  const f = await fixture(t);
  f.hub.registry.putService('demo.local', 'alpha');
  f.hub.registry.putService('demo.local', 'beta');
  f.flush();
  const a = f.open('node-a');
  const b = a.sibling('node-b');
  a.request(ENDPOINT_TYPE_URL, ['alpha.demo.local']);
  b.request(ENDPOINT_TYPE_URL, ['beta.demo.local']);
  const a1 = await a.next();
  const b1 = await b.next();
  t.deepEqual(a1.names, ['alpha.demo.local']);
  t.deepEqual(b1.names, ['beta.demo.local']);
  await acked(f, a, a1, ['alpha.demo.local']);
  await acked(f, b, b1, ['beta.demo.local']);
  const pushesBefore = await metricValue(f.hub.metrics.pushes, { api: 'xds', type: ENDPOINT_TYPE_URL });

  registerInstance(f.hub.registry, { id: 'alpha-1', service: 'alpha', port: 7101 });
  f.flush();
  const a2 = await a.next();
  t.deepEqual(a2.names, ['alpha.demo.local']);
  registerInstance(f.hub.registry, { id: 'beta-1', service: 'beta', port: 7201 });
  f.flush();
  const b2 = await b.next();
  t.deepEqual(b2.names, ['beta.demo.local']);
  t.true(Number(b2.version_info) > Number(a2.version_info), "beta's stream got no push for alpha's change");
  t.is(await metricValue(f.hub.metrics.pushes, { api: 'xds', type: ENDPOINT_TYPE_URL }), pushesBefore + 2);
  t.is(a.unread + b.unread, 0);
});

test('an empty CDS or LDS subscription is a wildcard: all resources, and new ones as they come', async (t) => {
  const f = await fixture(t);
  f.hub.registry.putService('demo.local', 'x');
  f.hub.registry.putService('demo.local', 'y');
  f.flush();
  const s = f.open();
  s.request(CLUSTER_TYPE_URL, []);
  const r1 = await s.next();
  t.deepEqual([...r1.names].sort(), ['x.demo.local', 'y.demo.local']);
  await acked(f, s, r1, []);
  s.request(LISTENER_TYPE_URL, []);
  const l1 = await s.next();
  t.deepEqual([...l1.names].sort(), ['x.demo.local', 'y.demo.local']);
  await acked(f, s, l1, []);
  f.hub.registry.putService('other.local', 'z');
  f.flush();
  const r2 = await s.next();
  t.is(r2.type_url, CLUSTER_TYPE_URL);
  t.deepEqual([...r2.names].sort(), ['x.demo.local', 'y.demo.local', 'z.other.local'], 'the whole state, not just the new one');
  const l2 = await s.next();
  t.is(l2.type_url, LISTENER_TYPE_URL);
  t.deepEqual([...l2.names].sort(), ['x.demo.local', 'y.demo.local', 'z.other.local']);
});

test('a deleted service disappears from the next full-state response', async (t) => {
  const f = await fixture(t);
  f.hub.registry.putService('demo.local', 'keep');
  registerInstance(f.hub.registry, { id: 'gone-1', service: 'gone', port: 7301 });
  f.flush();
  const s = f.open();
  s.request(CLUSTER_TYPE_URL, []);
  const r1 = await s.next();
  t.deepEqual([...r1.names].sort(), ['gone.demo.local', 'keep.demo.local']);
  await acked(f, s, r1, []);
  const named = s.sibling('named');
  named.request(LISTENER_TYPE_URL, ['gone.demo.local']);
  const l1 = await named.next();
  t.deepEqual(l1.names, ['gone.demo.local']);
  await acked(f, named, l1, ['gone.demo.local']);

  f.hub.registry.deregister('gone-1');
  f.hub.registry.deleteService('demo.local', 'gone');
  f.flush();
  const r2 = await s.next();
  t.deepEqual(r2.names, ['keep.demo.local']);
  const l2 = await named.next();
  t.deepEqual(l2.names, [], 'a listener left out of an LDS response is deleted');
});

test('EDS answers with an empty assignment for a service without endpoints; instance changes push EDS only', async (t) => {
  const f = await fixture(t);
  f.hub.registry.putService('demo.local', 'api');
  f.flush();
  const s = f.open();
  s.request(CLUSTER_TYPE_URL, ['api.demo.local']);
  const c1 = await s.next();
  await acked(f, s, c1, ['api.demo.local']);
  s.request(ENDPOINT_TYPE_URL, ['api.demo.local']);
  const e1 = await s.next();
  t.is(e1.type_url, ENDPOINT_TYPE_URL);
  t.deepEqual(e1.resources, [{ cluster_name: 'api.demo.local' }]);
  await acked(f, s, e1, ['api.demo.local']);
  registerInstance(f.hub.registry, { id: 'api-1', service: 'api', port: 7401 });
  f.flush();
  const e2 = await s.next();
  t.is(e2.type_url, ENDPOINT_TYPE_URL, 'the cluster did not change, so no CDS push');
  t.is((e2.resources[0]!['endpoints'] as unknown[]).length, 1);
});

test('RDS serves the route configuration named by the listener', async (t) => {
  const f = await fixture(t);
  f.hub.registry.putService('demo.local', 'api');
  f.flush();
  const s = f.open();
  s.request(LISTENER_TYPE_URL, ['api.demo.local']);
  const l = await s.next();
  t.deepEqual(l.names, ['api.demo.local']);
  s.ack(l, ['api.demo.local']);
  s.request(ROUTE_TYPE_URL, ['api.demo.local']);
  const r = await s.next();
  t.is(r.type_url, ROUTE_TYPE_URL);
  t.deepEqual(r.names, ['api.demo.local']);
});

test('a burst of registry changes is coalesced into one push', async (t) => {
  const f = await fixture(t);
  f.hub.registry.putService('demo.local', 'burst');
  f.flush();
  const s = f.open();
  s.request(ENDPOINT_TYPE_URL, ['burst.demo.local']);
  const e1 = await s.next();
  await acked(f, s, e1, ['burst.demo.local']);
  const before = await metricValue(f.hub.metrics.pushes, { api: 'xds', type: ENDPOINT_TYPE_URL });
  for (let i = 0; i < 50; i++) registerInstance(f.hub.registry, { id: `b-${i}`, service: 'burst', port: 8000 + i });
  f.flush();
  const e2 = await s.next();
  const endpoints = (e2.resources[0]!['endpoints'] as Array<{ lb_endpoints: unknown[] }>)[0]!.lb_endpoints;
  t.is(endpoints.length, 50, 'the first push after the burst carries all of it');
  t.is(await metricValue(f.hub.metrics.pushes, { api: 'xds', type: ENDPOINT_TYPE_URL }), before + 1);
  const latency = await f.hub.metrics.pushLatency.get();
  t.is(latency.values.find((v) => v.metricName?.endsWith('_count') && v.labels['api'] === 'xds')?.value, 1);
});

test('the node id of the first request is logged and the subscriber gauge follows streams', async (t) => {
  const f = await fixture(t);
  const s = f.open('sidecar-7');
  s.request(CLUSTER_TYPE_URL, []);
  await s.next();
  t.is(f.hub.ads.streamCount, 1);
  t.is(await metricValue(f.hub.metrics.subscribers, { api: 'xds' }), 1);
  const opened = f.logs.find((l) => l['msg'] === 'xds stream opened');
  t.is(opened?.['node'], 'sidecar-7');
  s.close();
  await until('the stream to go away', () => f.hub.ads.streamCount === 0);
  t.is(await metricValue(f.hub.metrics.subscribers, { api: 'xds' }), 0);
});

test('requests for types the hub does not serve are ignored; stale nonces are ignored', async (t) => {
  const f = await fixture(t);
  f.hub.registry.putService('demo.local', 'api');
  f.flush();
  const s = f.open();
  s.request('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', []);
  s.request(CLUSTER_TYPE_URL, ['api.demo.local']);
  const r1 = await s.next();
  t.is(r1.type_url, CLUSTER_TYPE_URL);
  await acked(f, s, r1, ['api.demo.local']);
  // A request with an old nonce changes nothing, even a subscription.
  s.request(CLUSTER_TYPE_URL, ['api.demo.local', 'new.demo.local'], { nonce: 'not-a-nonce', version: r1.version_info });
  f.hub.registry.putService('demo.local', 'api', { timeout_ms: 3000 });
  f.flush();
  const r2 = await s.next();
  t.deepEqual(r2.names, ['api.demo.local']);
  t.deepEqual(f.hub.ads.describeStreams()[0]!.types[0]!.names, ['api.demo.local']);
});

test('an oversized request ends the stream with INVALID_ARGUMENT naming the field', async (t) => {
  const f = await fixture(t);
  const s = f.open();
  s.request(CLUSTER_TYPE_URL, Array.from({ length: 10_001 }, (_, i) => `s${i}.demo.local`));
  const status = await s.status();
  t.is(status.code, grpc.status.INVALID_ARGUMENT);
  t.regex(status.details, /^resource_names: at most 10000/);
  await until('the stream to be dropped', () => f.hub.ads.streamCount === 0);
});

test('close() ends every stream with UNAVAILABLE', async (t) => {
  const f = await fixture(t);
  const s = f.open();
  s.request(CLUSTER_TYPE_URL, []);
  await s.next();
  f.hub.registry.putService('demo.local', 'pending');
  t.is(f.clock.pending(), 1, 'a coalescing window is open');
  f.hub.ads.close();
  const status = await s.status();
  t.is(status.code, grpc.status.UNAVAILABLE);
  t.is(f.hub.ads.streamCount, 0);
  t.is(f.clock.pending(), 0, 'no timer left behind');
  f.hub.registry.putService('demo.local', 'after-close');
  t.is(f.clock.pending(), 0, 'no longer subscribed to the registry');
});

test('instances with a hostname address are left out of EDS and logged once', async (t) => {
  const f = await fixture(t);
  registerInstance(f.hub.registry, { id: 'by-name', service: 'db', address: 'db.internal', port: 5432 });
  registerInstance(f.hub.registry, { id: 'by-ip', service: 'db', address: '10.2.0.1', port: 5432 });
  f.flush();
  const s = f.open();
  s.request(ENDPOINT_TYPE_URL, ['db.demo.local']);
  const e1 = await s.next();
  const addresses = (cla: Record<string, unknown>) =>
    (cla['endpoints'] as Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string } } } }> }>).flatMap((e) =>
      e.lb_endpoints.map((lb) => lb.endpoint.address.socket_address.address),
    );
  t.deepEqual(addresses(e1.resources[0]!), ['10.2.0.1']);
  await acked(f, s, e1, ['db.demo.local']);
  registerInstance(f.hub.registry, { id: 'by-ip-2', service: 'db', address: '10.2.0.2', port: 5432 });
  f.flush();
  const e2 = await s.next();
  t.deepEqual(addresses(e2.resources[0]!), ['10.2.0.1', '10.2.0.2']);
  const warnings = f.logs.filter((l) => l['level'] === 'warn' && l['id'] === 'by-name');
  t.is(warnings.length, 1);
  t.is(warnings[0]!['address'], 'db.internal');
});

test('endpoints of a service nobody watched are encoded when first asked for, with every change so far', async (t) => {
  const f = await fixture(t);
  for (let i = 1; i <= 3; i++) {
    registerInstance(f.hub.registry, { id: `late-${i}`, service: 'late', address: `10.0.9.${i}`, port: 80 });
    f.flush();
  }
  const s = f.open();
  s.request(ENDPOINT_TYPE_URL, ['late.demo.local']);
  const r = await s.next();
  t.deepEqual(r.names, ['late.demo.local']);
  const endpoints = (r.resources[0]!['endpoints'] as Array<{ lb_endpoints: unknown[] }>).flatMap((e) => e.lb_endpoints);
  t.is(endpoints.length, 3);
  t.is(r.version_info, String(f.hub.registry.version));
  await acked(f, s, r, ['late.demo.local']);
  registerInstance(f.hub.registry, { id: 'late-4', service: 'late', address: '10.0.9.4', port: 80 });
  f.flush();
  const next = await s.next();
  t.is((next.resources[0]!['endpoints'] as Array<{ lb_endpoints: unknown[] }>).flatMap((e) => e.lb_endpoints).length, 4, 'now watched, a change is pushed');
});
