import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { Clock } from '../../src/common/clock.js';
import { createLogger, type Logger } from '../../src/common/logger.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { DEFAULT_SERVICE_CONFIG } from '../../src/model/service-config.js';
import { ClusterManager } from '../../src/sidecar/cluster-manager.js';
import { PEER_CACHE_FORMAT, PEER_CACHE_VERSION, type PeerCacheFile } from '../../src/sidecar/peer-cache-format.js';
import { PeerCache, type PeerCacheCluster } from '../../src/sidecar/peer-cache.js';
import { AdsClient } from '../../src/xds/client/ads-client.js';
import { RestartableXdsHub, unusedPort } from '../helpers/ads-client-hub.js';
import { until } from '../helpers/wait.js';
import { registerInstance } from '../helpers/xds-hub.js';

type Teardown = { teardown(fn: () => void | Promise<void>): void };

async function tempFile(t: Teardown): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'outrigger-peer-cache-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  return path.join(dir, 'peers.json');
}

function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: createLogger('debug', {}, { write: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>) }), lines };
}

/** A manager of api.demo.local; `clock` is the manager's only (its ADS client retries in real time). */
function manager(t: Teardown, hubs: string[], cache: PeerCache, opts: { logger?: Logger; clock?: Clock } = {}): { manager: ClusterManager; ads: AdsClient } {
  const ads = new AdsClient({ hubs, node: { id: 'cache-test' }, backoff: { initialMs: 20, maxMs: 100 }, ...(opts.logger ? { logger: opts.logger } : {}) });
  const m = new ClusterManager({ ads, declared: ['api.demo.local'], cache, ...opts });
  t.teardown(() => m.stop());
  return { manager: m, ads };
}

const entry = (name: string): PeerCacheCluster => ({
  name,
  config: DEFAULT_SERVICE_CONFIG,
  config_version: '3',
  endpoints: [{ id: 'a', address: '10.0.0.1', port: 80, weight: 1, zone: '', region: '', health: 'HEALTHY', version: '', metadata: {} }],
  endpoints_version: '4',
  changed_at: 5,
});

test('writes are debounced through the clock and atomic; the file carries its format, version and time', async (t) => {
  const file = await tempFile(t);
  const clock = new ManualClock();
  const cache = new PeerCache({ file, clock, debounceMs: 1000 });
  let snapshot = [entry('a.demo.local')];
  cache.schedule(() => snapshot);
  clock.advance(500);
  snapshot = [entry('a.demo.local'), entry('b.demo.local')];
  cache.schedule(() => snapshot);
  clock.advance(499);
  t.true(cache.stats().pending);
  t.is(cache.stats().writes, 0, 'nothing is written within the window');
  clock.advance(1);
  t.false(cache.stats().pending, 'the window ends 1000 ms after the first change: a later one does not extend it');
  await cache.flush();
  t.is(cache.stats().writes, 1, 'two changes, one write');
  const written = JSON.parse(await fs.readFile(file, 'utf8')) as PeerCacheFile;
  t.like(written, { format: PEER_CACHE_FORMAT, version: PEER_CACHE_VERSION, written_at: clock.now() });
  t.deepEqual(written.clusters, snapshot, 'the latest snapshot is what is written');
  t.is(cache.stats().last_written_at, clock.now());

  snapshot = [entry('c.demo.local')];
  cache.schedule(() => snapshot);
  await cache.flush();
  t.is(cache.stats().writes, 2, 'flush() writes a pending window at once');
  t.deepEqual(((JSON.parse(await fs.readFile(file, 'utf8')) as PeerCacheFile).clusters).map((c) => c.name), ['c.demo.local']);
  t.deepEqual(await fs.readdir(path.dirname(file)), ['peers.json'], 'no temp file is left behind');
  t.deepEqual(await new PeerCache({ file }).load(), { writtenAt: clock.now(), clusters: snapshot });

  // A cache that cannot be written is reported, never fatal.
  const broken = new PeerCache({ file: path.join(file, 'under-a-file.json'), clock, debounceMs: 0 });
  broken.schedule(() => snapshot);
  await broken.flush();
  t.like(broken.stats(), { writes: 0, failures: 1 });
  t.truthy(broken.stats().last_error);
});

test('the cache is written after an update; a new manager with no hub reachable loads it and is ready from it', async (t) => {
  const file = await tempFile(t);
  const hub = await RestartableXdsHub.start();
  t.teardown(() => hub.stop());
  registerInstance(hub.registry, { id: 'api-1', service: 'api', port: 7001 });
  registerInstance(hub.registry, { id: 'api-2', service: 'api', port: 7002 });

  const cache1 = new PeerCache({ file, debounceMs: 20 });
  const first = manager(t, [hub.address], cache1).manager;
  await first.start();
  await first.ensure('api.demo.local');
  await until('the cache write', () => cache1.stats().writes >= 1);
  const written = JSON.parse(await fs.readFile(file, 'utf8')) as PeerCacheFile;
  t.is(written.format, PEER_CACHE_FORMAT);
  t.is(written.version, PEER_CACHE_VERSION);
  t.true(written.written_at > 0);
  t.deepEqual(written.clusters.map((c) => c.name), ['api.demo.local']);
  t.deepEqual(written.clusters[0]!.endpoints?.map((e) => e.id), ['api-1', 'api-2']);
  t.deepEqual(await fs.readdir(path.dirname(file)), ['peers.json'], 'no temp file is left behind');
  await first.stop();
  await hub.stop();

  const { logger, lines } = capture();
  const clock = new ManualClock(written.written_at + 7000);
  const second = manager(t, [hub.address], new PeerCache({ file, logger, clock }), { logger, clock }).manager;
  await second.start();
  t.true(second.ready, 'ready from the cache with no hub');
  const view = second.get('api.demo.local');
  t.like(view, { status: 'known', source: 'cache' });
  t.deepEqual(view?.endpoints?.map((e) => e.id), ['api-1', 'api-2']);
  t.is(second.staleAgeMs(), 7000, 'as old as the cache file');
  t.is(second.configDump().cache?.loaded_written_at, written.written_at);
  t.true(lines.some((l) => l['msg'] === 'loaded the peer cache'));

  // Once the hub is back and confirms, the source is the hub.
  await hub.start();
  await until('the hub to confirm the cached state', () => second.get('api.demo.local')?.source === 'hub');
  t.deepEqual(second.get('api.demo.local')?.endpoints?.map((e) => e.id), ['api-1', 'api-2']);
  t.is(second.staleAgeMs(), 0);
});

test('a corrupt or foreign cache file is ignored with a warning, never fatal', async (t) => {
  const file = await tempFile(t);
  const cases: Array<[string, RegExp]> = [
    ['{"format": "outrigger.peer-cache", "version": 1, "clusters": [', /^not JSON/],
    [JSON.stringify({ kind: 'something else' }), /^not an Outrigger peer cache/],
    [JSON.stringify({ format: PEER_CACHE_FORMAT, version: 99, written_at: 1, clusters: [] }), /^format version 99 is not 1/],
    [
      JSON.stringify({ format: PEER_CACHE_FORMAT, version: 1, written_at: 1, clusters: [{ ...entry('api.demo.local'), config: { lb_policy: 'fastest' } }] }),
      /^clusters\[0\]\.config\.lb_policy: must be one of/,
    ],
  ];
  for (const [text, reason] of cases) {
    await fs.writeFile(file, text);
    const { logger, lines } = capture();
    const cache = new PeerCache({ file, logger });
    t.is(await cache.load(), undefined);
    const warning = lines.find((l) => l['level'] === 'warn');
    t.regex(String(warning?.['error']), reason);
  }
  // The manager starts regardless, not ready, and replaces the file once the hub answers.
  const { manager: m } = manager(t, [`127.0.0.1:${await unusedPort()}`], new PeerCache({ file }));
  await m.start();
  t.false(m.ready);
  t.is(m.get('api.demo.local')?.status, 'pending');
});
