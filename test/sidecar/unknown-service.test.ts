import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { OutriggerError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import type { Hub } from '../../src/hub/hub.js';
import { ClusterManager } from '../../src/sidecar/cluster-manager.js';
import { HubServiceDirectory } from '../../src/sidecar/service-existence.js';
import { HubCredentials } from '../../src/wire/hub-credentials.js';
import { AdsClient } from '../../src/xds/client/ads-client.js';
import { startAuthHubFor } from '../helpers/auth-hub.js';

/** A hub with auth on, and the credentials of a sidecar of web.demo.local (it reads everything). */
async function startHub(t: import('ava').ExecutionContext): Promise<{ hub: Hub; grpc: string; connection: HubCredentials }> {
  const h = await startAuthHubFor(t);
  const tokenFile = path.join(mkdtempSync(path.join(tmpdir(), 'outrigger-unknown-')), 'token');
  writeFileSync(tokenFile, await h.token('service', ['demo.local/web']));
  return { hub: h.hub, grpc: h.addresses.grpc, connection: new HubCredentials({ tokenFile, logger: silentLogger }) };
}

function manager(t: import('ava').ExecutionContext, hub: { grpc: string; connection: HubCredentials }, clock: ManualClock): ClusterManager {
  const directory = new HubServiceDirectory([hub.grpc], silentLogger, hub.connection);
  // The ADS client runs on real time (it only connects); the ensure bound is on the manual clock,
  // which never moves in these tests: an answer can only come from the hub.
  const ads = new AdsClient({ hubs: [hub.grpc], node: { id: 'unknown-service-test' }, connection: hub.connection });
  const m = new ClusterManager({ ads, clock, exists: directory.exists, ensureTimeoutMs: 10_000 });
  t.teardown(async () => {
    await m.stop();
    directory.close();
  });
  return m;
}

test('a service the hub does not know is answered not_found at once, without waiting out the ensure bound', async (t) => {
  const started = await startHub(t);
  const clock = new ManualClock();
  const m = manager(t, started, clock);
  await m.start();
  const err = await t.throwsAsync(m.ensure('ghost.demo.local'), { instanceOf: OutriggerError });
  t.is(err?.code, 'not_found');
  t.is(err?.message, 'cluster ghost.demo.local does not exist: the hub has no such service');
  t.is(m.get('ghost.demo.local')?.status, 'absent');
});

test('a service the hub knows, with no instance yet, is not refused: ensure() resolves with its config', async (t) => {
  const started = await startHub(t);
  started.hub.registry.putService('demo.local', 'empty', {});
  const clock = new ManualClock();
  const m = manager(t, started, clock);
  await m.start();
  const view = await m.ensure('empty.demo.local');
  t.is(view.status, 'known');
  t.deepEqual(view.endpoints, []);
});
