import test from 'ava';
import type { Clock } from '../../src/common/clock.js';
import { OutriggerError } from '../../src/common/errors.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { ClusterManager, type ClusterChange, type ClusterManagerOptions } from '../../src/sidecar/cluster-manager.js';
import { AdsClient, type AdsClientState } from '../../src/xds/client/ads-client.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '../../src/xds/type-urls.js';
import { RestartableXdsHub } from '../helpers/ads-client-hub.js';
import { nextEvent, until } from '../helpers/wait.js';
import { registerInstance } from '../helpers/xds-hub.js';

type Teardown = { teardown(fn: () => void | Promise<void>): void };

async function hubWith(t: Teardown): Promise<RestartableXdsHub> {
  const hub = await RestartableXdsHub.start();
  t.teardown(() => hub.stop());
  return hub;
}

function managerFor(t: Teardown, hub: RestartableXdsHub, opts: Omit<ClusterManagerOptions, 'ads'> & { clock?: Clock } = {}): { manager: ClusterManager; ads: AdsClient } {
  const ads = new AdsClient({
    hubs: [hub.address],
    node: { id: 'manager-test' },
    backoff: { initialMs: 100, maxMs: 400 },
    ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
  });
  const manager = new ClusterManager({ ads, ...opts });
  t.teardown(() => manager.stop());
  return { manager, ads };
}

const bothTypes = (hub: RestartableXdsHub): string =>
  `${hub.subscribedNames(CLUSTER_TYPE_URL).join()} / ${hub.subscribedNames(ENDPOINT_TYPE_URL).join()}`;

test('ready once every declared upstream has an answer; ensure() resolves once a service is registered', async (t) => {
  const hub = await hubWith(t);
  registerInstance(hub.registry, { id: 'api-1', service: 'api', port: 7001 });
  const { manager } = managerFor(t, hub, { declared: ['api.demo.local', 'web.demo.local'] });
  const changes: ClusterChange[] = [];
  manager.on('change', (c) => changes.push(c));
  const readyEvent = nextEvent<[boolean]>(manager, 'ready', (ready) => ready);
  await manager.start();
  t.false(manager.ready);
  const api = await manager.ensure('api.demo.local');
  t.like(api, { name: 'api.demo.local', declared: true, status: 'known', source: 'hub' });
  await readyEvent;
  t.true(manager.ready, 'ready: the hub answered for both, api with config and web as not existing');
  t.is(manager.get('web.demo.local')?.status, 'absent');
  registerInstance(hub.registry, { id: 'web-1', service: 'web', port: 7101 });
  await manager.ensure('web.demo.local');
  t.is(manager.get('web.demo.local')?.status, 'known');

  const later = manager.ensure('later.demo.local');
  await until('the on-demand subscription', () => bothTypes(hub) === 'api.demo.local,later.demo.local,web.demo.local / api.demo.local,later.demo.local,web.demo.local');
  registerInstance(hub.registry, { id: 'later-1', service: 'later', port: 7201 });
  const view = await later;
  t.like(view, { name: 'later.demo.local', declared: false, status: 'known', source: 'hub' });
  t.deepEqual(view.endpoints?.map((e) => e.id), ['later-1']);
  t.is(manager.get('later.demo.local'), view, 'the snapshot stays the same object until it changes');
  t.true(changes.some((c) => c.name === 'later.demo.local' && c.config && !c.removed));
  t.true(changes.some((c) => c.name === 'later.demo.local' && c.endpoints && !c.removed));

  registerInstance(hub.registry, { id: 'later-2', service: 'later', port: 7202 });
  const [change] = await nextEvent<[ClusterChange]>(manager, 'change', (c) => c.name === 'later.demo.local');
  t.like(change, { config: false, endpoints: true, removed: false });
  t.deepEqual(change.view?.endpoints?.map((e) => e.id), ['later-1', 'later-2']);
  t.not(manager.get('later.demo.local'), view);

  const dump = manager.configDump();
  t.true(dump.ready);
  t.is(dump.stale_age_ms, 0);
  t.true(dump.ads.in_sync);
  t.deepEqual(dump.clusters.map((c) => c.name), ['api.demo.local', 'later.demo.local', 'web.demo.local']);
  t.is(dump.cache, undefined);
});

test('ensure() rejects an invalid name at once, and an unknown service after its bound', async (t) => {
  const hub = await hubWith(t);
  const clock = new ManualClock();
  const { manager, ads } = managerFor(t, hub, { clock });
  await manager.start();
  const invalid = await t.throwsAsync(manager.ensure('Not A Name'), { instanceOf: OutriggerError });
  t.is(invalid?.code, 'invalid_argument');
  t.regex(invalid?.message ?? '', /^cluster: must be <service>\.<namespace>/);

  const outcome = manager.ensure('never.demo.local', { timeoutMs: 2000 }).then(
    () => undefined,
    (err: unknown) => err,
  );
  await until('the subscription to reach the hub', () => ads.inSync && bothTypes(hub) === 'never.demo.local / never.demo.local');
  let settled = false;
  void outcome.then(() => (settled = true));
  clock.advance(1999);
  await Promise.resolve();
  t.false(settled, 'still waiting within the bound');
  clock.advance(1);
  const err = await outcome;
  t.true(err instanceof OutriggerError);
  t.is((err as OutriggerError).code, 'not_found');
  t.is((err as OutriggerError).message, 'cluster never.demo.local does not exist: the hub has no such service (waited 2000 ms)');
  t.is(manager.get('never.demo.local')?.status, 'absent');
});

test('an idle on-demand cluster is unsubscribed after the idle period; touch() keeps it', async (t) => {
  const hub = await hubWith(t);
  registerInstance(hub.registry, { id: 'api-1', service: 'api', port: 7001 });
  registerInstance(hub.registry, { id: 'later-1', service: 'later', port: 7201 });
  const clock = new ManualClock();
  const { manager } = managerFor(t, hub, { clock, declared: ['api.demo.local'], onDemandIdleMs: 60_000, idleSweepIntervalMs: 1000 });
  await manager.start();
  await manager.ensure('later.demo.local');
  await until('the on-demand subscription', () => bothTypes(hub) === 'api.demo.local,later.demo.local / api.demo.local,later.demo.local');

  clock.advance(40_000);
  manager.touch('later.demo.local');
  const touchedAt = clock.now();
  clock.advance(40_000);
  t.is(manager.list().find((c) => c.name === 'later.demo.local')?.lastUsedAt, touchedAt);
  t.truthy(manager.get('later.demo.local'), '80 s since ensure() but only 40 s since touch()');

  const removed = nextEvent<[ClusterChange]>(manager, 'change', (c) => c.removed);
  clock.advance(21_000);
  const [change] = await removed;
  t.like(change, { name: 'later.demo.local', view: undefined, removed: true });
  t.is(manager.get('later.demo.local'), undefined);
  await until("the hub stream's subscription to shrink", () => bothTypes(hub) === 'api.demo.local / api.demo.local');
  clock.advance(120_000);
  t.truthy(manager.get('api.demo.local'), 'declared upstreams are never dropped');

  const again = await manager.ensure('later.demo.local');
  t.deepEqual(again.endpoints?.map((e) => e.id), ['later-1'], 'asked for again, it is subscribed again');
});

test('the hub goes away and comes back: the view is kept while stale age grows, then it resyncs', async (t) => {
  const hub = await hubWith(t);
  registerInstance(hub.registry, { id: 'api-1', service: 'api', port: 7001 });
  const clock = new ManualClock();
  const { manager, ads } = managerFor(t, hub, { clock, declared: ['api.demo.local'] });
  await manager.start();
  await manager.ensure('api.demo.local');
  t.is(manager.staleAgeMs(), 0);
  const before = manager.get('api.demo.local');

  const lost = nextEvent<[AdsClientState]>(ads, 'state', (s) => s === 'backoff');
  await hub.stop();
  await lost;
  t.false(ads.inSync);
  t.is(manager.staleAgeMs(), 0, 'it was in sync until this instant');
  clock.advance(5000);
  t.is(manager.staleAgeMs(), 5000);
  t.is(manager.get('api.demo.local'), before, 'the view is kept meanwhile');
  t.true(manager.ready);

  // Changes made while the hub was away must arrive with the resync.
  registerInstance(hub.registry, { id: 'api-2', service: 'api', port: 7002 });
  // Drive the client's backoff through the manual clock, one retry per failure.
  const kick = (state: AdsClientState): void => {
    if (state === 'backoff') setImmediate(() => clock.advance(400));
  };
  ads.on('state', kick);
  t.teardown(() => void ads.off('state', kick));
  const changed = nextEvent<[ClusterChange]>(manager, 'change', (c) => c.view?.endpoints?.length === 2);
  await hub.start();
  await changed;
  if (!ads.inSync) await nextEvent<[AdsClientState, boolean]>(ads, 'state', (_state, inSync) => inSync);
  t.is(manager.staleAgeMs(), 0);
  t.deepEqual(manager.get('api.demo.local')?.endpoints?.map((e) => e.id), ['api-1', 'api-2']);
  t.is(manager.get('api.demo.local')?.source, 'hub');
  t.true(ads.stats().reconnects >= 1);
});
