import test from 'ava';
import { ManualClock } from '../../../src/common/manual-clock.js';
import { EndpointSliceSource } from '../../../src/k8s/endpoint-slice/endpoint-slice-source.js';
import { Registry } from '../../../src/registry/registry.js';
import { newRegistry } from '../../helpers/registry.js';
import { until } from '../../helpers/wait.js';
import { FakeKubeApi, endpointSlice } from '../helpers/fake-kube-api.js';

const NS = 'shop.svc.cluster.local';

interface Fixture {
  api: FakeKubeApi;
  clock: ManualClock;
  registry: Registry;
  source: EndpointSliceSource;
  counts: Record<string, number>;
  ids(): string[];
}

async function fixture(
  t: { teardown(fn: () => void | Promise<void>): void },
  opts: { namespaces?: string[]; maxBackoffMs?: number; random?: () => number; start?: boolean } = {},
): Promise<Fixture> {
  const api = await FakeKubeApi.start();
  const clock = new ManualClock();
  const registry = newRegistry({ clock });
  const counts: Record<string, number> = {};
  const source = new EndpointSliceSource({
    registry,
    kubeConfig: api.kubeConfig(),
    namespaces: opts.namespaces ?? [],
    namespaceSuffix: 'svc.cluster.local',
    maxBackoffMs: opts.maxBackoffMs ?? 30_000,
    clock,
    random: opts.random ?? (() => 0.5),
    metrics: {
      counters: (resource) => ({
        event: () => void (counts[`${resource}.event`] = (counts[`${resource}.event`] ?? 0) + 1),
        relist: () => void (counts[`${resource}.relist`] = (counts[`${resource}.relist`] ?? 0) + 1),
        error: () => void (counts[`${resource}.error`] = (counts[`${resource}.error`] ?? 0) + 1),
      }),
    },
  });
  t.teardown(async () => {
    source.stop();
    await api.close();
  });
  if (opts.start !== false) {
    source.start();
    await source.whenSynced();
  }
  return { api, clock, registry, source, counts, ids: () => registry.instancesOf(NS, 'web').map((i) => i.id).sort() };
}

const pod = (n: number) => ({ ip: `10.1.0.${n}`, pod: { name: `web-${n}`, uid: `uid-${n}` } });

test('a list fills the registry; watch events add, change and delete; an ended watch resumes from the last event', async (t) => {
  const f = await fixture(t, { start: false });
  f.api.upsert('endpointslices', endpointSlice('shop', 'web-a', 'web', [pod(1)]));
  const listedAt = f.api.resourceVersion;
  f.source.start();
  await f.source.whenSynced();
  t.deepEqual(f.ids(), ['uid-1'], 'the listed slice is in the registry once the first list completed');
  const first = f.registry.getInstance('uid-1')!;
  t.like(first, { source: 'kubernetes', address: '10.1.0.1', port: 8080, protocol: 'http', health: 'HEALTHY', namespace: NS, service: 'web' });
  t.is(first.lease.ttlMs, 0, 'no lease: the source removes what disappears');

  await until('the slice watch', () => f.api.openWatches('endpointslices') === 1);
  const watch = f.api.watchRequests('endpointslices')[0]!;
  t.is(watch.query.get('resourceVersion'), listedAt, 'the watch starts at the list resourceVersion');
  t.is(watch.query.get('allowWatchBookmarks'), 'true');

  f.api.upsert('endpointslices', endpointSlice('shop', 'web-a', 'web', [pod(1), pod(2)]));
  await until('the second pod', () => f.ids().length === 2);
  f.api.upsert('endpointslices', endpointSlice('shop', 'web-a', 'web', [pod(1), { ...pod(2), ready: false }]));
  await until('uid-2 not ready', () => f.registry.getInstance('uid-2')?.health === 'UNHEALTHY');
  f.api.upsert('endpointslices', endpointSlice('shop', 'web-b', 'other', [pod(9)]));
  const lastEvent = f.api.resourceVersion;
  await until('the other service', () => f.registry.getInstance('uid-9') !== undefined);
  t.is(f.source.resourceVersions()['endpointslices'], lastEvent);

  f.api.endWatches('endpointslices');
  await until('the resumed watch', () => f.api.watchRequests('endpointslices').length === 2);
  t.is(f.api.watchRequests('endpointslices')[1]!.query.get('resourceVersion'), lastEvent, 'resumed from the last event');
  t.is(f.api.listRequests('endpointslices').length, 1, 'not relisted');
  t.is(f.counts['endpointslices.event'], 3);

  await until('the resumed watch is open', () => f.api.openWatches('endpointslices') === 1);
  f.api.remove('endpointslices', 'shop', 'web-a');
  await until('the deleted slice to leave the registry', () => f.ids().length === 0);
  t.is(f.registry.getInstance('uid-9')?.service, 'other', "another service's slice is untouched");
});

test('a bookmark advances the resourceVersion the next watch resumes from', async (t) => {
  const f = await fixture(t);
  await until('the slice watch', () => f.api.openWatches('endpointslices') === 1);
  const listed = f.api.watchRequests('endpointslices')[0]!.query.get('resourceVersion');
  f.api.upsert('services', { metadata: { namespace: 'shop', name: 'unrelated' } });
  const mark = f.api.bookmark('endpointslices');
  t.not(mark, listed);
  await until('the bookmark to be read', () => f.source.resourceVersions()['endpointslices'] === mark);
  f.api.endWatches('endpointslices');
  await until('the resumed watch', () => f.api.watchRequests('endpointslices').length === 2);
  t.is(f.api.watchRequests('endpointslices')[1]!.query.get('resourceVersion'), mark);
  t.is(f.api.listRequests('endpointslices').length, 1);
});

test('410 Gone during a gap leads to a relist, and the registry converges', async (t) => {
  const f = await fixture(t);
  f.api.upsert('endpointslices', endpointSlice('shop', 'web-a', 'web', [pod(1)]));
  f.api.upsert('endpointslices', endpointSlice('shop', 'web-b', 'web', [pod(2)]));
  await until('both slices', () => f.ids().length === 2);
  // While events are lost (compacted away), web-b is deleted and web-a changes.
  f.api.remove('endpointslices', 'shop', 'web-b', { silent: true });
  f.api.upsert('endpointslices', endpointSlice('shop', 'web-a', 'web', [{ ...pod(1), ready: false }]), { silent: true });
  f.api.expire();
  await until('the relist to converge', () => f.ids().join() === 'uid-1' && f.registry.getInstance('uid-1')?.health === 'UNHEALTHY');
  t.is(f.api.listRequests('endpointslices').length, 2, 'relisted once');
  t.is(f.counts['endpointslices.relist'], 1);
  t.is(f.counts['endpointslices.error'] ?? 0, 0, '410 is not counted as an error');
  await until('watching again', () => f.api.openWatches('endpointslices') === 1);
  const resumed = f.api.watchRequests('endpointslices').at(-1)!;
  t.is(resumed.query.get('resourceVersion'), f.api.resourceVersion, 'the new watch starts at the new list');
});

test('a watch refused with HTTP 410 relists at once', async (t) => {
  const f = await fixture(t);
  await until('the slice watch', () => f.api.openWatches('endpointslices') === 1);
  // An event first, so the watch that ends resumes at once (an empty one waits a backoff).
  f.api.upsert('endpointslices', endpointSlice('shop', 'other', 'other', [pod(7)]));
  await until('the first event', () => f.registry.getInstance('uid-7') !== undefined);
  f.api.upsert('endpointslices', endpointSlice('shop', 'web-a', 'web', [pod(1)]), { silent: true });
  f.api.failNext(410, true);
  f.api.endWatches('endpointslices');
  await until('the relist', () => f.ids().join() === 'uid-1');
  t.is(f.counts['endpointslices.relist'], 1);
  t.is(f.clock.pending(), 0, 'no backoff timer was needed');
});

test('failures back off through the clock, capped by max_backoff, and reset after success', async (t) => {
  // random 0.999: each delay is just under its ceiling (500ms, 1s, 2s, capped at 1.5s).
  const f = await fixture(t, { maxBackoffMs: 1500, random: () => 0.999 });
  await until('the slice watch', () => f.api.openWatches('endpointslices') === 1);
  const watches = () => f.api.watchRequests('endpointslices').length;
  f.api.failNext(500, true);
  f.api.failNext(500, true);
  f.api.failNext(500, true);
  f.api.endWatches('endpointslices');
  // The clean end of an empty watch waits a backoff too (499ms), then come the three failures.
  for (const [i, delay] of [499, 999, 1498, 1498].entries()) {
    await until(`backoff timer ${i}`, () => f.clock.pending() === 1);
    const before = watches();
    f.clock.advance(delay - 1);
    await new Promise<void>((resolve) => setImmediate(resolve));
    t.is(watches(), before, `no retry before ${delay}ms`);
    f.clock.advance(1);
    await until(`retry ${i} after ${delay}ms`, () => watches() === before + 1);
  }
  await until('watching again', () => f.api.openWatches('endpointslices') === 1);
  t.is(f.counts['endpointslices.error'], 3);
  // A delivered event resets the backoff: the next failure waits the first delay again.
  f.api.upsert('endpointslices', endpointSlice('shop', 'web-a', 'web', [pod(1)]));
  await until('the event', () => f.ids().length === 1);
  f.api.failNext(500, true);
  f.api.endWatches('endpointslices');
  await until('the backoff after the failure', () => watches() > 0 && f.clock.pending() === 1);
  const before = watches();
  f.clock.advance(499);
  await until('a retry after the first delay', () => watches() === before + 1);
});

test('a failing list retries with backoff; the source is not synced until a list succeeds', async (t) => {
  const f = await fixture(t, { start: false });
  f.api.failNext(500, false);
  f.source.start();
  await until('the backoff after the failed list', () => f.clock.pending() === 1);
  t.false(f.source.synced);
  f.clock.advance(250);
  await f.source.whenSynced();
  t.true(f.source.synced);
  t.is(f.counts['services.error'] ?? 0, 1 - (f.counts['endpointslices.error'] ?? 0), 'one list failed');
});

test('stop() ends the watches and leaves no timer behind', async (t) => {
  const f = await fixture(t);
  await until('both watches', () => f.api.openWatches() === 2);
  f.api.failNext(500, true);
  f.api.endWatches('services');
  await until('a backoff timer', () => f.clock.pending() === 1);
  f.source.stop();
  t.is(f.clock.pending(), 0, 'the pending retry is cancelled');
  await until('the watch connections to close', () => f.api.openWatches() === 0);
  const seen = f.api.requests.length;
  f.clock.advance(60_000);
  f.api.upsert('endpointslices', endpointSlice('shop', 'web-a', 'web', [pod(1)]));
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.is(f.api.requests.length, seen, 'nothing is requested after stop');
  t.deepEqual(f.ids(), []);
});

test('namespaces limit what is watched: one list and watch per namespace', async (t) => {
  const f = await fixture(t, { namespaces: ['shop'], start: false });
  f.api.upsert('endpointslices', endpointSlice('shop', 'web-a', 'web', [pod(1)]));
  f.api.upsert('endpointslices', endpointSlice('other', 'web-a', 'web', [pod(2)]));
  f.source.start();
  await f.source.whenSynced();
  t.deepEqual(f.ids(), ['uid-1']);
  t.deepEqual(f.registry.instancesOf('other.svc.cluster.local', 'web'), []);
  t.true(f.api.requests.every((r) => r.namespace === 'shop'));
});

test('an endpoint in two slices of one service (moving between them) is one instance, with the better health', async (t) => {
  const f = await fixture(t);
  f.api.upsert('endpointslices', endpointSlice('shop', 'web-a', 'web', [{ ...pod(1), ready: false, serving: true, terminating: true }]));
  f.api.upsert('endpointslices', endpointSlice('shop', 'web-b', 'web', [pod(1)]));
  await until('the better view', () => f.registry.getInstance('uid-1')?.health === 'HEALTHY');
  t.deepEqual(f.ids(), ['uid-1']);
  f.api.remove('endpointslices', 'shop', 'web-b');
  await until('the remaining view', () => f.registry.getInstance('uid-1')?.health === 'DRAINING');
  f.api.remove('endpointslices', 'shop', 'web-a');
  await until('gone with its last slice', () => f.ids().length === 0);
  t.is(f.registry.getInstance('uid-1'), undefined);
});
