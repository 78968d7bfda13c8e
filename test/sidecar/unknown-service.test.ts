import test from 'ava';
import { OutriggerError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { hubConfigSchema } from '../../src/config/hub-config.js';
import { Hub } from '../../src/hub/hub.js';
import { parseWith } from '../../src/model/parse-input.js';
import { ClusterManager } from '../../src/sidecar/cluster-manager.js';
import { HubServiceDirectory } from '../../src/sidecar/service-existence.js';
import { AdsClient } from '../../src/xds/client/ads-client.js';

async function startHub(t: import('ava').ExecutionContext): Promise<{ hub: Hub; grpc: string }> {
  const hub = new Hub(parseWith(hubConfigSchema, { bind: '127.0.0.1', grpc_port: 0, http_port: 0, log_level: 'silent' }, '', 'config_invalid'));
  const addresses = await hub.start();
  t.teardown(() => hub.stop());
  return { hub, grpc: addresses.grpc };
}

function manager(t: import('ava').ExecutionContext, grpc: string, clock: ManualClock): ClusterManager {
  const directory = new HubServiceDirectory([grpc], silentLogger);
  // The ADS client runs on real time (it only connects); the ensure bound is on the manual clock,
  // which never moves in these tests: an answer can only come from the hub.
  const ads = new AdsClient({ hubs: [grpc], node: { id: 'unknown-service-test' } });
  const m = new ClusterManager({ ads, clock, exists: directory.exists, ensureTimeoutMs: 10_000 });
  t.teardown(async () => {
    await m.stop();
    directory.close();
  });
  return m;
}

test('a service the hub does not know is answered not_found at once, without waiting out the ensure bound', async (t) => {
  const { grpc } = await startHub(t);
  const clock = new ManualClock();
  const m = manager(t, grpc, clock);
  await m.start();
  const err = await t.throwsAsync(m.ensure('ghost.demo.local'), { instanceOf: OutriggerError });
  t.is(err?.code, 'not_found');
  t.is(err?.message, 'cluster ghost.demo.local does not exist: the hub has no such service');
  t.is(m.get('ghost.demo.local')?.status, 'absent');
});

test('a service the hub knows, with no instance yet, is not refused: ensure() resolves with its config', async (t) => {
  const { hub, grpc } = await startHub(t);
  hub.registry.putService('demo.local', 'empty', {});
  const clock = new ManualClock();
  const m = manager(t, grpc, clock);
  await m.start();
  const view = await m.ensure('empty.demo.local');
  t.is(view.status, 'known');
  t.deepEqual(view.endpoints, []);
});
