import test from 'ava';
import { createLogger } from '../../src/common/logger.js';
import { PROCESS_POLL_MS } from '../helpers/cli-ports.js';
import { startSteadyLoad, type SteadyLoad } from '../helpers/rolling-load.js';
import { RollingMesh, sidecarView, type EndpointRow, type Member } from '../helpers/rolling-mesh.js';
import { eventually, until } from '../helpers/wait.js';

const CLUSTER = 'echo.demo.local';
const DRAIN_PERIOD_MS = 1000;

const healthyIds = (rows: EndpointRow[] | undefined): string[] => (rows ?? []).filter((r) => r.health === 'HEALTHY').map((r) => r.id).sort();

test('rolling restart of all backends (sidecars draining) under steady load: zero failed requests', async (t) => {
  // Upper bounds only: a busy machine makes the rollout slower, never a failure.
  t.timeout(120_000);
  const mesh = new RollingMesh(createLogger(process.env.OUTRIGGER_TEST_LOG === '1' ? 'info' : 'silent'), DRAIN_PERIOD_MS);
  let load: SteadyLoad | undefined;
  t.teardown(async () => {
    await load?.stop();
    await mesh.close();
  });

  await mesh.startHub();
  let backends: Member[] = await Promise.all(['echo-1', 'echo-2', 'echo-3'].map((id) => mesh.member(id, 'echo')));
  const web = await mesh.member('web-1', 'web', { upstreams: [{ service: 'echo' }] });
  const admin = web.addresses.admin;
  const webSees = (what: string, check: (rows: EndpointRow[] | undefined) => boolean): Promise<EndpointRow[]> =>
    eventually(`web's sidecar sees ${what}`, async () => {
      const rows = await sidecarView(admin, CLUSTER);
      return check(rows) ? (rows ?? []) : undefined;
    }, 20_000, PROCESS_POLL_MS);

  await webSees('three HEALTHY echo endpoints', (rows) => healthyIds(rows).join() === 'echo-1,echo-2,echo-3');

  load = startSteadyLoad({ proxy: web.addresses.outbound, host: CLUSTER, workers: 4, ratePerSecond: 300, maxRequests: 30_000, maxDurationMs: 90_000 });
  const running = load;
  const servedBy = (id: string): number => running.progress.byInstance[id] ?? 0;
  // The load is really flowing through all three before the first drain.
  await until('the load reaches all three original backends', () => ['echo-1', 'echo-2', 'echo-3'].every((id) => servedBy(id) > 0), 10_000, PROCESS_POLL_MS);

  for (let i = 0; i < 3; i++) {
    const old = backends[i]!;
    const draining = old.sidecar.drain(DRAIN_PERIOD_MS);
    await webSees(`${old.id} DRAINING or gone`, (rows) => rows !== undefined && !rows.some((r) => r.id === old.id && r.health !== 'DRAINING'));
    const servedWhenSeen = servedBy(old.id);
    // The rest of the drain period (the behaviour under test): the sidecar deregisters and stops itself.
    await draining;
    t.is(old.sidecar.phase, 'stopped');
    await mesh.remove(old);
    // No new request went to the drained instance once web saw it DRAINING (at most the ones already in flight).
    t.true(servedBy(old.id) - servedWhenSeen <= 4, `${old.id} served ${servedBy(old.id) - servedWhenSeen} requests after web saw it DRAINING`);

    const id = `${old.id}-g2`;
    const fresh = await mesh.member(id, 'echo');
    backends = backends.map((b, j) => (j === i ? fresh : b));
    await webSees(`${id} HEALTHY`, (rows) => rows?.some((r) => r.id === id && r.health === 'HEALTHY') ?? false);
    await until(`the load reaches ${id}`, () => servedBy(id) > 0, 10_000, PROCESS_POLL_MS);
    t.log(`${old.id} → ${id}: ${running.progress.sent} requests so far, ${running.progress.failures.length} failed`);
  }

  // A moment more of load on the new generation, then stop it.
  const after = running.progress.ok;
  await until('200 more requests served after the rollout', () => running.progress.ok - after >= 200 || running.progress.sent >= 30_000, 10_000, PROCESS_POLL_MS);
  const result = await running.stop();

  t.log(`requests sent: ${result.sent}, ok: ${result.ok}, failed: ${result.failures.length}`);
  t.log(`served by: ${JSON.stringify(result.byInstance)}`);
  const metrics = (await (await fetch(`${admin}/metrics`)).text()).split('\n');
  t.log(`web's proxy: ${metrics.filter((l) => /^outrigger_proxy_(retries|errors|ejections)_total/.test(l)).join('; ') || 'no retries, errors or ejections'}`);
  t.deepEqual(result.failures, [], 'no request failed during the rolling restart');
  t.is(result.ok, result.sent);
  // Retries on connect failure / reset would also hide an instance that vanished without draining
  // (GETs are idempotent); a drain done right leaves the proxy nothing to retry.
  const retries = metrics.filter((l) => l.startsWith('outrigger_proxy_retries_total{')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  t.is(retries, 0, 'no request needed a retry: web stopped using each instance before it went away');
  t.true(result.sent > 500, `the load ran (${result.sent} requests)`);
  for (const id of ['echo-1', 'echo-2', 'echo-3', 'echo-1-g2', 'echo-2-g2', 'echo-3-g2']) {
    t.true(servedBy(id) > 0, `${id} served some requests`);
  }

  const expected = 'echo-1-g2,echo-2-g2,echo-3-g2';
  const hubRows = await eventually('the hub lists exactly the new generation', async () => {
    const rows = await mesh.hubView('echo');
    return rows !== undefined && rows.map((r) => r.id).sort().join() === expected ? rows : undefined;
  }, 10_000, PROCESS_POLL_MS);
  t.deepEqual(healthyIds(hubRows), expected.split(','), 'three new instances HEALTHY at the hub');
  const webRows = await webSees('exactly the new generation', (rows) => (rows ?? []).map((r) => r.id).sort().join() === expected);
  t.deepEqual(healthyIds(webRows), expected.split(','), 'three new instances HEALTHY in web\'s view');
});
