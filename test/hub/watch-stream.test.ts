import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { WATCH_RESUMED_KEY } from '../../src/hub/watch-hub.js';
import { SNAPSHOT_CHUNK } from '../../src/hub/watch-stream.js';
import type { Instance } from '../../src/registry/model.js';
import type { WireInstance } from '../../src/wire/messages.js';
import { callUnary } from '../../src/wire/registry-client.js';
import { metricValue, startGrpcHub, WAIT_MS } from '../helpers/grpc-hub.js';
import { WatchRecorder } from '../helpers/grpc-watch.js';
import { until } from '../helpers/wait.js';

const NS = 'demo.local';
const reg = (id: string, service = 'echo', extra: Record<string, unknown> = {}) => ({
  id,
  service,
  namespace: NS,
  address: '10.0.0.1',
  port: 8080,
  ...extra,
});

/** What a watcher must end up holding: the fields a balancer routes by, per id. */
const viewOfRegistry = (instances: Instance[]) =>
  Object.fromEntries(instances.map((i) => [i.id, { health: i.health, port: i.port, weight: i.weight, revision: i.revision }]));
const viewOfWatcher = (state: Map<string, WireInstance>) =>
  Object.fromEntries([...state.values()].map((i) => [i.id!, { health: i.health, port: i.port, weight: i.weight, revision: i.revision }]));

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

function isStrictlyIncreasing(xs: readonly number[]): boolean {
  return xs.every((x, i) => i === 0 || x > xs[i - 1]!);
}

test('1,000 rapid changes: the watcher ends equal to the registry, in order; a watcher of another service sees none', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  hub.registry.register(reg('seed-1'));
  hub.registry.register(reg('other-1', 'other'));

  const watcher = new WatchRecorder(hub.client.Watch({ namespace: NS, service: 'echo' }));
  const bystander = new WatchRecorder(hub.newClient().Watch({ service: 'other' }));
  await watcher.until('the echo snapshot', (w) => w.snapshotComplete);
  await bystander.until('the other snapshot', (w) => w.snapshotComplete);
  t.deepEqual([...watcher.state.keys()], ['seed-1']);
  t.deepEqual([...bystander.state.keys()], ['other-1']);

  let echoChanges = 0;
  const stopCounting = hub.registry.subscribe((c) => {
    if (c.kind === 'instance' && c.instance.service === 'echo') echoChanges++;
  });
  t.teardown(stopCounting);

  // Half through the gRPC API, concurrently (arrival order is up to the transport)...
  const ids = Array.from({ length: 200 }, (_, i) => `g${i}`);
  await Promise.all(ids.map((id, i) => callUnary(hub.client, 'Register', { ...reg(id), port: 9000 + i })));
  await Promise.all(ids.map((id, i) =>
    i % 2 === 0
      ? callUnary(hub.client, 'ReportHealth', { id, health: 'UNHEALTHY' })
      : callUnary(hub.client, 'Deregister', { id }),
  ));
  await Promise.all(ids.filter((_, i) => i % 4 === 0).map((id) => callUnary(hub.client, 'Heartbeat', { id, health: 'DRAINING' })));
  t.is(echoChanges, 450);

  // ...and the rest straight into the registry in one synchronous burst, the fastest it can go.
  const random = lcg(7);
  const live = new Set(hub.registry.instancesOf(NS, 'echo').map((i) => i.id));
  while (echoChanges < 1000) {
    const id = `s${Math.floor(random() * 40)}`;
    const roll = random();
    if (!live.has(id) || roll < 0.3) {
      hub.registry.register(reg(id, 'echo', { weight: 1 + Math.floor(random() * 1000) }));
      live.add(id);
    } else if (roll < 0.8) {
      const inst = hub.registry.getInstance(id)!;
      hub.registry.reportHealth(id, inst.health === 'HEALTHY' ? 'UNHEALTHY' : 'HEALTHY');
    } else {
      hub.registry.deregister(id);
      live.delete(id);
    }
  }
  t.is(echoChanges, 1000);

  const finalVersion = hub.registry.version;
  await watcher.until(`the watcher to reach version ${finalVersion}`, (w) => w.lastVersion === finalVersion);
  t.is(watcher.changeVersions.length, 1000, 'every change, exactly once');
  t.true(isStrictlyIncreasing(watcher.changeVersions), 'versions strictly increase');
  t.true(watcher.changeVersions[0]! > watcher.snapshotVersion!, 'changes follow the snapshot');
  t.deepEqual(viewOfWatcher(watcher.state), viewOfRegistry(hub.registry.discover({ namespace: NS, service: 'echo', healthyOnly: false })));

  // The bystander is live (it gets its own service's change) but saw nothing of echo's.
  const marker = hub.registry.register(reg('other-2', 'other'));
  await bystander.until('the other service change', (w) => w.lastVersion === marker.revision);
  t.deepEqual(bystander.changeVersions, [marker.revision]);
  t.deepEqual([...bystander.state.keys()].sort(), ['other-1', 'other-2']);

  t.is(await metricValue(hub.metrics.subscribers, { api: 'watch' }), 2);
  t.is(await metricValue(hub.metrics.pushes, { api: 'watch', type: 'snapshot' }), 2);
  t.true((await metricValue(hub.metrics.pushes, { api: 'watch', type: 'upsert' })) > 0);
  t.true((await metricValue(hub.metrics.pushes, { api: 'watch', type: 'remove' })) > 0);
});

test('a snapshot larger than one message arrives in chunks, and a cancelled watcher is let go', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  const count = SNAPSHOT_CHUNK * 2 + 17;
  for (let i = 0; i < count; i++) hub.registry.register(reg(`i${String(i).padStart(5, '0')}`, 'big', { health: i % 3 === 0 ? 'UNHEALTHY' : 'HEALTHY' }));

  const watcher = new WatchRecorder(hub.client.Watch({ service: 'big' }));
  await watcher.until('the whole snapshot', (w) => w.snapshotComplete);
  t.is(watcher.events, 3);
  t.is(watcher.state.size, count, 'a snapshot includes every health state');
  t.is(watcher.snapshotVersion, hub.registry.version);
  t.is(watcher.headers?.get(WATCH_RESUMED_KEY)[0], 'false');

  watcher.call.cancel();
  await watcher.ends();
  await until('the watch gauge to drop', async () => (await metricValue(hub.metrics.subscribers, { api: 'watch' })) === 0, WAIT_MS);
  t.is(await metricValue(hub.metrics.requests, { api: 'grpc', route: 'Watch', code: 'CANCELLED' }), 1);
});

test('a watcher can resume from its last version without a new snapshot; an unknown epoch gets one', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  hub.registry.register(reg('a'));
  const first = new WatchRecorder(hub.client.Watch({ service: 'echo' }));
  await first.until('the snapshot', (w) => w.snapshotComplete);
  const b = hub.registry.register(reg('b'));
  await first.until('the change to b', (w) => w.lastVersion === b.revision);
  first.call.cancel();
  await first.ends();

  // Missed while away: one change to echo, one to another service.
  hub.registry.reportHealth('a', 'DRAINING');
  hub.registry.register(reg('x', 'other'));

  const resumed = new WatchRecorder(hub.client.Watch({ service: 'echo', resume: { epoch: first.epoch!, version: first.lastVersion! } }));
  const drained = hub.registry.getInstance('a')!;
  await resumed.until('the missed change', (w) => w.lastVersion === drained.revision);
  t.is(resumed.headers?.get(WATCH_RESUMED_KEY)[0], 'true');
  t.is(resumed.snapshotVersion, undefined, 'no snapshot');
  t.deepEqual(resumed.changeVersions, [drained.revision]);
  t.is(resumed.state.get('a')?.health, 'DRAINING');

  const fresh = new WatchRecorder(hub.client.Watch({ service: 'echo', resume: { epoch: 'another-hub', version: first.lastVersion! } }));
  await fresh.until('a snapshot', (w) => w.snapshotComplete);
  t.is(fresh.headers?.get(WATCH_RESUMED_KEY)[0], 'false');
  t.deepEqual([...fresh.state.keys()].sort(), ['a', 'b']);
});

test('Watch rejects a bad filter, and close() ends every watcher with UNAVAILABLE', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  const bad = new WatchRecorder(hub.client.Watch({ namespace: 'Bad_NS' }));
  const err = await bad.ends();
  t.is(err?.code, grpc.status.INVALID_ARGUMENT);
  t.is(err?.metadata.get('outrigger-error-field')[0], 'namespace');

  const watcher = new WatchRecorder(hub.client.Watch({}));
  await watcher.until('the snapshot', (w) => w.snapshotComplete);
  hub.service.close();
  const closed = await watcher.ends();
  t.is(closed?.code, grpc.status.UNAVAILABLE);
  t.regex(closed?.details ?? '', /watch again/);
  const late = new WatchRecorder(hub.client.Watch({}));
  t.is((await late.ends())?.code, grpc.status.UNAVAILABLE);
});
