import test from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import { Registry } from '../../src/registry/registry.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '../../src/xds/type-urls.js';
import { newRegistry } from '../helpers/registry.js';
import { until } from '../helpers/wait.js';
import { AdsTestStream, stalledAdsStream, type Response } from '../helpers/xds-ads-client.js';
import { registerInstance, startXdsHub } from '../helpers/xds-hub.js';

/** A registry with `services` services of `perService` instances each. */
function filledRegistry(clock: ManualClock, services: number, perService: number): Registry {
  const registry = newRegistry({ clock });
  for (let s = 0; s < services; s++) {
    registry.putService('storm.local', `svc-${s}`);
    for (let i = 0; i < perService; i++) {
      registerInstance(registry, { id: `svc-${s}-${i}`, service: `svc-${s}`, namespace: 'storm.local', address: `10.${s % 250}.${i}.1`, port: 8000 + i });
    }
  }
  return registry;
}

test('in a reconnect storm every stream gets its first response, from bodies encoded once', async (t) => {
  const clock = new ManualClock();
  const hub = await startXdsHub({ clock, registry: filledRegistry(clock, 30, 2), maxConcurrentInitial: 16, coalesceMs: 10 });
  const streams: AdsTestStream[] = [];
  t.teardown(async () => {
    for (const s of streams) s.closeClient();
    await hub.close();
  });
  const connections = Array.from({ length: 4 }, (_, i) => AdsTestStream.open(hub.address, `storm-${i}-0`));
  streams.push(...connections);
  for (const [i, first] of connections.entries()) for (let j = 1; j < 100; j++) streams.push(first.sibling(`storm-${i}-${j}`));
  const encodedBefore = hub.ads.stats.encodedBodies;

  // 400 streams ask at once: half for every cluster, half for two named endpoint assignments.
  for (const [n, s] of streams.entries()) {
    if (n % 2 === 0) s.request(CLUSTER_TYPE_URL, []);
    else s.request(ENDPOINT_TYPE_URL, ['svc-1.storm.local', 'svc-2.storm.local']);
  }
  const firsts = await Promise.all(streams.map((s) => s.next(30_000)));
  t.is(hub.ads.streamCount, 400);
  for (const [n, r] of firsts.entries()) {
    if (n % 2 === 0) t.is(r.names.length, 30);
    else t.deepEqual(r.names, ['svc-1.storm.local', 'svc-2.storm.local']);
  }
  t.is(hub.ads.stats.encodedBodies - encodedBefore, 2, 'one body per distinct request, shared by 200 streams each');
  t.is(hub.ads.stats.queued, 0);
});

test('a stream that stops reading holds one response at most and then catches up with the latest state', async (t) => {
  const clock = new ManualClock();
  const hub = await startXdsHub({ clock, registry: filledRegistry(clock, 300, 1), coalesceMs: 10 });
  const slow = AdsTestStream.open(hub.address, 'slow');
  t.teardown(async () => {
    slow.closeClient();
    await hub.close();
  });
  slow.request(CLUSTER_TYPE_URL, []);
  const first = await slow.next();
  t.is(first.names.length, 300);
  slow.ack(first, []);
  await until('the ACK', () => hub.ads.describeStreams()[0]?.types[0]?.acked_version === first.version_info);
  const info = () => hub.ads.describeStreams()[0]!;

  // The client stops reading: once HTTP/2 flow control closes, the hub's write cannot finish.
  slow.call.pause();
  let changes = 0;
  const change = (): void => {
    hub.registry.putService('storm.local', 'svc-0', { timeout_ms: 1000 + ++changes });
    clock.advance(10);
  };
  // One change per check: the pace of the checks is the pace of the load. A write in flight is
  // not yet a stuck one (it may still fit the flow-control window and finish): blocked means
  // in flight, with more pending, and no response finished over 50 checks in a row.
  let steady = 0;
  let seen = -1;
  await until(
    'the write to the stalled stream to block',
    async () => {
      change();
      await new Promise((resolve) => setImmediate(resolve));
      const responses = info().types[0]!.responses;
      steady = info().writing && info().types[0]!.pending && responses === seen ? steady + 1 : 0;
      seen = responses;
      return steady >= 50;
    },
    10_000,
    2,
  );

  const sentWhileStalled = info().types[0]!.responses;
  for (let i = 0; i < 100; i++) change();
  await until('the queue to settle', () => hub.ads.stats.queued === 0);
  t.is(info().types[0]!.responses, sentWhileStalled, 'nothing more is written while the previous write is stuck');
  t.true(info().writing, 'one write in flight');
  t.true(info().types[0]!.pending, 'the rest is just "stale", to be rebuilt from the cache');

  // Reading again, the client receives what was in flight and then the latest state directly.
  const latest = hub.registry.version;
  slow.call.resume();
  let last: Response | undefined;
  let received = 0;
  while (last === undefined || Number(last.version_info) < latest) {
    last = await slow.next();
    received++;
    slow.ack(last, []);
  }
  t.is(last.version_info, String(latest));
  t.true(received < changes / 2, `caught up in ${received} responses for ${changes} changes`);
  t.is(info().types[0]!.acked_version === undefined, false);
});

test('while a stalled reader holds the bytes in flight other streams wait their turn, until its write stops counting or its stream goes', async (t) => {
  const clock = new ManualClock();
  // Any one write spends the whole budget; 1,000 clusters make a response (about 1.2 MB) far
  // larger than an HTTP/2 flow-control window, so a reader that does not read cannot drain it.
  const hub = await startXdsHub({ clock, registry: filledRegistry(clock, 1000, 1), coalesceMs: 10, maxBytesInFlight: 1, writeStallMs: 10_000 });
  const stalled = stalledAdsStream(hub.address, 'stalled', CLUSTER_TYPE_URL);
  const waiting = AdsTestStream.open(hub.address, 'waiting');
  const next = AdsTestStream.open(hub.address, 'next');
  t.teardown(async () => {
    stalled.close();
    waiting.closeClient();
    next.closeClient();
    await hub.close();
  });
  const writing = (node: string): boolean => hub.ads.describeStreams().find((s) => s.node === node)?.writing === true;
  const queued = (node: string): boolean => hub.ads.describeStreams().some((s) => s.node === node) && hub.ads.stats.queued === 1;

  await until('the stalled stream to hold a write', () => writing('stalled') && hub.ads.stats.bytesInFlight > 0);
  waiting.request(CLUSTER_TYPE_URL, []);
  await until('the second stream to wait in the queue', () => queued('waiting'));
  t.is(waiting.received, 0);
  t.true(writing('stalled'), 'the stalled write has not drained');

  // The stalled write stops counting after writeStallMs: the waiting stream is served.
  clock.advance(10_000);
  const first = await waiting.next();
  t.is(first.names.length, 1000);
  t.is(hub.ads.stats.stalledWrites, 1);
  await until('the drained write to give its bytes back', () => hub.ads.stats.bytesInFlight === 0);

  // A stream that goes gives its bytes back at once.
  const gone = stalledAdsStream(hub.address, 'gone', CLUSTER_TYPE_URL);
  await until('the second stalled stream to hold a write', () => writing('gone') && hub.ads.stats.bytesInFlight > 0);
  next.request(CLUSTER_TYPE_URL, []);
  await until('the next stream to wait in the queue', () => queued('next'));
  t.is(next.received, 0);
  gone.close();
  t.is((await next.next()).names.length, 1000);
  t.is(hub.ads.stats.stalledWrites, 1, 'no write had to stall this time');
});
