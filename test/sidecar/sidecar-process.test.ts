import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { flippableApp, freePort, getJson, PROCESS_POLL_MS, PROCESS_WAIT_MS, watching } from '../helpers/cli-ports.js';
import { runCli, type CliProcess } from '../helpers/cli-process.js';
import { startHubProcess, type HubProcess } from '../helpers/hub-process.js';
import { eventually, until } from '../helpers/wait.js';

interface InstanceJson {
  id: string;
  health: string;
  lease: { held: boolean };
}
interface ClustersJson {
  stale_age_ms: number;
  clusters: Array<{ name: string; source?: string; endpoints: Array<{ id: string; health: string }> }>;
}

interface Hub extends HubProcess {
  /** A `service` token for every service of demo.local, in a file, as sidecars present it. */
  sidecarToken: string;
}

/** A hub process with auth on; started again on the same data dir, it keeps its tokens. */
async function startHub(grpcPort = 0, previous?: Hub): Promise<Hub> {
  const hub = await startHubProcess({ grpcPort, ...(previous !== undefined ? { dataDir: previous.dataDir } : {}) });
  return { ...hub, sidecarToken: previous?.sidecarToken ?? (await hub.tokenFile('service', ['demo.local'])) };
}

/**
 * A sidecar process. Each gets a temp dir of its own (TMPDIR) unless the test gives one, so a
 * default peer cache file left by an earlier sidecar of the same name is never read by chance.
 */
function startSidecar(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const own = { TMPDIR: mkdtempSync(path.join(tmpdir(), 'outrigger-sidecar-test-')) };
  return runCli(['sidecar', '--admin-bind', '127.0.0.1', '--admin-port', '0', '--outbound-port', '0', '--dns.listen', 'off', '--log-level', 'warn', ...args], { ...own, ...env });
}

async function adminOf(proc: CliProcess): Promise<string> {
  const [, admin] = await proc.waitForOutput(/admin\s+(http:\/\/\S+)/);
  return admin!;
}

const instances = async (hub: Hub, service: string): Promise<InstanceJson[]> =>
  (await getJson<{ data: { services: InstanceJson[] } }>(`${hub.http}/api/v1/services?service_name=${service}`, hub.token))?.body.data.services ?? [];

function sidecarArgs(o: { service: string; id: string; appPort: number; hub: Hub; upstreams?: string[]; cache?: string; extra?: string[] }): string[] {
  return [
    '--hub-token-file', o.hub.sidecarToken,
    '--service', o.service, '--namespace', 'demo.local', '--instance-id', o.id,
    '--app.port', String(o.appPort),
    '--health-check', JSON.stringify({ type: 'http', path: '/healthz', interval: '200ms', timeout: '1s', rise: 2, fall: 2 }),
    '--hubs', JSON.stringify([o.hub.grpc]),
    '--upstreams', JSON.stringify((o.upstreams ?? []).map((service) => ({ service }))),
    '--heartbeat-interval', '1s',
    '--drain-period', '1s',
    '--reconnect-max-backoff', '2s',
    ...(o.cache !== undefined ? ['--cache-file', o.cache] : []),
    ...(o.extra ?? []),
  ];
}

test.serial('health transitions of the app reach the hub within interval × threshold plus a margin', async (t) => {
  const hub = await startHub();
  const app = await flippableApp();
  const sidecar = startSidecar(sidecarArgs({ service: 'web', id: 'web-1', appPort: app.port, hub }));
  t.teardown(async () => {
    sidecar.child.kill('SIGKILL');
    hub.proc.child.kill('SIGKILL');
    await app.close();
  });
  const admin = await adminOf(sidecar);
  await until('web-1 HEALTHY at the hub', async () => (await instances(hub, 'web'))[0]?.health === 'HEALTHY', PROCESS_WAIT_MS, PROCESS_POLL_MS);
  t.is((await getJson(`${admin}/ready`))?.status, 200);

  app.setHealthy(false);
  const downAt = Date.now();
  await until('web-1 UNHEALTHY at the hub', async () => (await instances(hub, 'web'))[0]?.health === 'UNHEALTHY', 2 * 200 + 5000, PROCESS_POLL_MS);
  t.log(`UNHEALTHY at the hub ${Date.now() - downAt} ms after the app went down (2 × 200 ms interval)`);
  t.is((await getJson(`${admin}/ready`))?.status, 503, 'not ready while the app is unhealthy');

  app.setHealthy(true);
  await until('web-1 HEALTHY again', async () => (await instances(hub, 'web'))[0]?.health === 'HEALTHY', 2 * 200 + 5000, PROCESS_POLL_MS);
  const list = await instances(hub, 'web');
  t.is(list.length, 1);
  t.true(list[0]!.lease.held, 'the session holds the lease');
});

test.serial('hub SIGKILLed and restarted: the sidecar keeps its peers, re-registers, and the hub ends with one instance per sidecar', async (t) => {
  const port = await freePort();
  let hub = await startHub(port);
  const apps = await Promise.all([flippableApp(), flippableApp()]);
  const a = startSidecar(sidecarArgs({ service: 'api', id: 'api-1', appPort: apps[0]!.port, hub, upstreams: ['worker.demo.local'] }));
  const b = startSidecar(sidecarArgs({ service: 'worker', id: 'worker-1', appPort: apps[1]!.port, hub, upstreams: ['api.demo.local'] }));
  t.teardown(async () => {
    for (const p of [a, b, hub.proc]) p.child.kill('SIGKILL');
    await Promise.all(apps.map((x) => x.close()));
  });
  const adminA = await adminOf(a);
  await adminOf(b);
  let last: ClustersJson | undefined;
  const workerSeen = async (): Promise<ClustersJson | undefined> => {
    const c = (last = (await getJson<ClustersJson>(`${adminA}/clusters`))?.body);
    return c?.clusters.find((x) => x.name === 'worker.demo.local')?.endpoints.some((e) => e.id === 'worker-1' && e.health === 'HEALTHY') ? c : undefined;
  };
  await eventually(watching('api sees worker-1 healthy', [a, b, hub.proc]), workerSeen, PROCESS_WAIT_MS, PROCESS_POLL_MS);

  hub.proc.child.kill('SIGKILL');
  await hub.proc.exited;
  const stale = await eventually(
    watching('a stale view of worker while the hub is away', [a, b]),
    async () => {
      const c = await workerSeen();
      return c !== undefined && c.stale_age_ms > 0 ? c : undefined;
    },
    PROCESS_WAIT_MS,
    PROCESS_POLL_MS,
  ).catch((err: Error) => Promise.reject(new Error(`${err.message}\nlast /clusters of api: ${JSON.stringify(last)}`)));
  t.true(stale.stale_age_ms > 0, 'stale age is visible in /clusters');

  hub = await startHub(port, hub);
  await until(watching('both sidecars re-registered', [a, b, hub.proc]), async () => {
    const [api, worker] = [await instances(hub, 'api'), await instances(hub, 'worker')];
    return api.length === 1 && worker.length === 1 && api[0]!.health === 'HEALTHY' && worker[0]!.health === 'HEALTHY';
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  const all = (await getJson<{ data: { services: InstanceJson[] } }>(`${hub.http}/api/v1/services`, hub.token))!.body.data.services;
  t.deepEqual(all.map((i) => i.id).sort(), ['api-1', 'worker-1'], 'exactly one live instance per sidecar');
  await eventually(watching('api back in sync', [a, b, hub.proc]), async () => {
    const c = await workerSeen();
    return c !== undefined && c.stale_age_ms === 0 ? c : undefined;
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
});

test.serial('a sidecar restarted while the hub is down serves its peers from the cache file', async (t) => {
  const cache = path.join(mkdtempSync(path.join(tmpdir(), 'outrigger-cache-test-')), 'peers.json');
  const port = await freePort();
  const hub = await startHub(port);
  const apps = await Promise.all([flippableApp(), flippableApp()]);
  const worker = startSidecar(sidecarArgs({ service: 'worker', id: 'worker-1', appPort: apps[1]!.port, hub }));
  let api = startSidecar(sidecarArgs({ service: 'api', id: 'api-1', appPort: apps[0]!.port, hub, upstreams: ['worker'], cache }));
  t.teardown(async () => {
    for (const p of [api, worker, hub.proc]) p.child.kill('SIGKILL');
    await Promise.all(apps.map((x) => x.close()));
  });
  let admin = await adminOf(api);
  await until(
    'api sees worker-1',
    async () => (await getJson<ClustersJson>(`${admin}/clusters`))?.body.clusters[0]?.endpoints.some((e) => e.id === 'worker-1') ?? false,
    PROCESS_WAIT_MS,
    PROCESS_POLL_MS,
  );
  await until('api ready', async () => (await getJson(`${admin}/ready`))?.status === 200, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  await until('the peer cache written', () => existsSync(cache), PROCESS_WAIT_MS, PROCESS_POLL_MS);

  hub.proc.child.kill('SIGKILL');
  api.child.kill('SIGKILL');
  await Promise.all([hub.proc.exited, api.exited]);

  api = startSidecar(sidecarArgs({ service: 'api', id: 'api-1', appPort: apps[0]!.port, hub, upstreams: ['worker'], cache }));
  admin = await adminOf(api);
  const ready = await eventually('the restarted sidecar is ready from its cache', async () => {
    const r = await getJson<{ ready: boolean }>(`${admin}/ready`);
    return r?.status === 200 ? r : undefined;
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  t.true(ready.body.ready);
  const clusters = (await getJson<ClustersJson>(`${admin}/clusters`))!.body;
  t.is(clusters.clusters[0]!.name, 'worker.demo.local', 'the short name resolved in the sidecar\'s namespace');
  t.is(clusters.clusters[0]!.source, 'cache');
  t.deepEqual(clusters.clusters[0]!.endpoints.map((e) => e.id), ['worker-1']);
});

test.serial('cache_file: off reads no peer cache (not even the default file) and writes none', async (t) => {
  // TMPDIR moves the default cache file (under the OS temp dir) somewhere this test owns.
  const tmp = mkdtempSync(path.join(tmpdir(), 'outrigger-cache-off-'));
  const env = { TMPDIR: tmp };
  const port = await freePort();
  let hub = await startHub(port);
  const apps = await Promise.all([flippableApp(), flippableApp()]);
  const worker = startSidecar(sidecarArgs({ service: 'worker', id: 'worker-1', appPort: apps[1]!.port, hub }), env);
  const api = (cache?: string): CliProcess => startSidecar(sidecarArgs({ service: 'api', id: 'api-1', appPort: apps[0]!.port, hub, upstreams: ['worker'], ...(cache !== undefined ? { cache } : {}) }), env);
  let first = api();
  let second: CliProcess | undefined;
  t.teardown(async () => {
    for (const p of [first, second, worker, hub.proc]) p?.child.kill('SIGKILL');
    await Promise.all(apps.map((x) => x.close()));
  });
  // A run with the default cache leaves its file behind, as a previous run of the demo did.
  const defaultFile = path.join(tmp, 'outrigger-api.demo.local-api-1.json');
  let admin = await adminOf(first);
  await until(
    watching('api sees worker-1', [first, worker, hub.proc]),
    async () => (await getJson<ClustersJson>(`${admin}/clusters`))?.body.clusters[0]?.endpoints.some((e) => e.id === 'worker-1') ?? false,
    PROCESS_WAIT_MS,
    PROCESS_POLL_MS,
  );
  await until(watching('the default cache file written', [first]), () => existsSync(defaultFile), PROCESS_WAIT_MS, PROCESS_POLL_MS);
  first.child.kill('SIGKILL');
  hub.proc.child.kill('SIGKILL');
  await Promise.all([first.exited, hub.proc.exited]);
  const left = readFileSync(defaultFile, 'utf8');

  // With the hub away, the file would make api ready at once; with the cache off it waits.
  second = api('off');
  admin = await adminOf(second);
  const proxyReady = runCli(['sidecar', 'wait-ready', '--proxy', '--admin', admin, '--timeout', '2s']);
  t.is(await proxyReady.exited, 1);
  t.regex(proxyReady.stderr(), /no peer config yet for worker\.demo\.local/);
  const pending = (await getJson<ClustersJson>(`${admin}/clusters`))!.body.clusters[0]!;
  t.is(pending.source, undefined, 'nothing came from the cache');
  t.deepEqual(pending.endpoints, []);
  t.is((await getJson<{ peers: { cache?: unknown } }>(`${admin}/config_dump`))!.body.peers.cache, undefined);

  // Fresh data from the hub is used as always, and stopping (which flushes a cache) writes nothing.
  rmSync(defaultFile);
  hub = await startHub(port, hub);
  await until(watching('api sees worker-1 from the hub', [second, worker, hub.proc]), async () => {
    const c = (await getJson<ClustersJson>(`${admin}/clusters`))?.body.clusters[0];
    return c?.source === 'hub' && c.endpoints.some((e) => e.id === 'worker-1');
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  second.child.kill('SIGTERM');
  t.is(await second.exited, 0);
  t.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('outrigger-api')), [], `no cache file written; the previous one held ${left.length} bytes`);
});

test.serial('upstreams[].local_port: 0 binds a free port, printed at start and shown in /clusters and /config_dump', async (t) => {
  const hub = await startHub();
  const apps = await Promise.all([flippableApp(), flippableApp()]);
  const worker = startSidecar(sidecarArgs({ service: 'worker', id: 'worker-1', appPort: apps[1]!.port, hub }));
  const api = startSidecar([
    ...sidecarArgs({ service: 'api', id: 'api-1', appPort: apps[0]!.port, hub }),
    '--upstreams', JSON.stringify([{ service: 'worker', local_port: 0 }]),
  ]);
  t.teardown(async () => {
    for (const p of [api, worker, hub.proc]) p.child.kill('SIGKILL');
    await Promise.all(apps.map((x) => x.close()));
  });
  const admin = await adminOf(api);
  const [, printed] = await api.waitForOutput(/^  worker  127\.0\.0\.1:(\d+)$/m);
  const port = Number(printed);
  t.true(port > 0, `a real port was picked: ${printed}`);
  const clusters = (await getJson<{ clusters: Array<{ name: string; local_port?: number }> }>(`${admin}/clusters`))!.body;
  t.is(clusters.clusters.find((c) => c.name === 'worker.demo.local')?.local_port, port);
  const dump = (await getJson<{ config: { upstreams: Array<{ local_port: number }> }; listeners: { local_ports: Record<string, number> } }>(`${admin}/config_dump`))!.body;
  t.is(dump.config.upstreams[0]!.local_port, 0, 'the config as given');
  t.deepEqual(dump.listeners.local_ports, { 'worker.demo.local': port }, 'the port as bound');
  // The port works: a plain request to it reaches the worker's app.
  const answer = await eventually(watching('worker answers on the local port', [api, worker, hub.proc]), async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
    return res?.status === 200 ? res.text() : undefined;
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  t.is(answer, 'hello');
});

test.serial('/config_dump gives clock times as ISO-8601 strings, as the hub does', async (t) => {
  const hub = await startHub();
  const apps = await Promise.all([flippableApp(), flippableApp()]);
  const worker = startSidecar(sidecarArgs({ service: 'worker', id: 'worker-1', appPort: apps[1]!.port, hub }));
  // No peer cache: a file left by an earlier run would make api ready before the hub answered.
  const api = startSidecar(sidecarArgs({ service: 'api', id: 'api-1', appPort: apps[0]!.port, hub, upstreams: ['worker'], cache: 'off' }));
  t.teardown(async () => {
    for (const p of [api, worker, hub.proc]) p.child.kill('SIGKILL');
    await Promise.all(apps.map((x) => x.close()));
  });
  const admin = await adminOf(api);
  await until(watching('api ready', [api, worker, hub.proc]), async () => (await getJson(`${admin}/ready`))?.status === 200, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  interface Dump {
    registration: { registeredAt: unknown };
    app_health: { last: { at: unknown } };
    peers: { ads: { last_update_at: unknown; last_in_sync_at: unknown }; clusters: Array<{ changedAt: unknown }> };
  }
  const dump = await eventually('registered, checked and in sync', async () => {
    const d = (await getJson<Dump>(`${admin}/config_dump`))?.body;
    return d?.registration.registeredAt !== undefined && d.peers.clusters[0]?.changedAt !== undefined && d.peers.ads.last_update_at !== undefined ? d : undefined;
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
  const times = {
    'registration.registeredAt': dump.registration.registeredAt,
    'app_health.last.at': dump.app_health.last.at,
    'peers.ads.last_update_at': dump.peers.ads.last_update_at,
    'peers.ads.last_in_sync_at': dump.peers.ads.last_in_sync_at,
    'peers.clusters[0].changedAt': dump.peers.clusters[0]!.changedAt,
  };
  for (const [key, value] of Object.entries(times)) t.regex(String(value), iso, `${key}: ${JSON.stringify(value)}`);
});

test.serial('SIGTERM: the instance becomes DRAINING at the hub before the process exits, then disappears', async (t) => {
  const hub = await startHub();
  const app = await flippableApp();
  const sidecar = startSidecar(sidecarArgs({ service: 'web', id: 'web-drain', appPort: app.port, hub, extra: ['--drain-period', '2s'] }));
  t.teardown(async () => {
    sidecar.child.kill('SIGKILL');
    hub.proc.child.kill('SIGKILL');
    await app.close();
  });
  await adminOf(sidecar);
  await until('registered healthy', async () => (await instances(hub, 'web'))[0]?.health === 'HEALTHY', PROCESS_WAIT_MS, PROCESS_POLL_MS);
  let exited = false;
  void sidecar.exited.then(() => (exited = true));
  sidecar.child.kill('SIGTERM');
  await until('DRAINING at the hub', async () => (await instances(hub, 'web'))[0]?.health === 'DRAINING', PROCESS_WAIT_MS, PROCESS_POLL_MS);
  t.false(exited, 'DRAINING was visible while the sidecar was still running');
  t.is(await sidecar.exited, 0);
  t.deepEqual(await instances(hub, 'web'), [], 'deregistered on the way out');
});

test.serial('POST /quitquitquit ends a draining sidecar at once, so a Job completes', async (t) => {
  const hub = await startHub();
  const app = await flippableApp();
  const sidecar = startSidecar(sidecarArgs({ service: 'job', id: 'job-1', appPort: app.port, hub, extra: ['--drain-period', '10m'] }));
  t.teardown(async () => {
    sidecar.child.kill('SIGKILL');
    hub.proc.child.kill('SIGKILL');
    await app.close();
  });
  const admin = await adminOf(sidecar);
  await until('registered', async () => (await instances(hub, 'job')).length === 1, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  const res = await fetch(`${admin}/quitquitquit`, { method: 'POST' });
  t.is(res.status, 202);
  t.is(await sidecar.exited, 0);
  t.deepEqual(await instances(hub, 'job'), []);
});

test.serial('outrigger sidecar wait-ready exits 0 once the sidecar is ready, 1 on timeout; --proxy ignores the app\'s health', async (t) => {
  const hub = await startHub();
  const app = await flippableApp();
  app.setHealthy(false);
  const sidecar = startSidecar(sidecarArgs({ service: 'web', id: 'web-wait', appPort: app.port, hub }));
  t.teardown(async () => {
    sidecar.child.kill('SIGKILL');
    hub.proc.child.kill('SIGKILL');
    await app.close();
  });
  const admin = await adminOf(sidecar);
  const early = runCli(['sidecar', 'wait-ready', '--admin', admin, '--timeout', '1s']);
  t.is(await early.exited, 1);
  t.regex(early.stderr(), /not ready after 1s: the app is (UNKNOWN|UNHEALTHY)/);
  // --proxy: the sidecar can route although the app is not healthy (a postStart hook's case).
  const proxy = runCli(['sidecar', 'wait-ready', '--proxy', '--admin', admin, '--timeout', '30s']);
  t.is(await proxy.exited, 0, proxy.stderr());
  t.is((await getJson(`${admin}/ready/proxy`))?.status, 200);
  t.is((await getJson(`${admin}/ready`))?.status, 503);
  const waiting = runCli(['sidecar', 'wait-ready', '--admin', admin, '--timeout', '30s']);
  app.setHealthy(true);
  t.is(await waiting.exited, 0);
});

const badConfigs: Array<[string, string[], RegExp]> = [
  ['a missing service', ['--app.port', '8080'], /^outrigger sidecar: service: .*got nothing/m],
  ['a missing app port', ['--service', 'web'], /app: is required|app\.port/],
  ['an app port out of range', ['--service', 'web', '--app.port', '70000'], /app\.port: must be an integer from 1 to 65535, got 70000 \(from flag --app\.port\)/],
  ['an uppercase service name', ['--service', 'Web', '--app.port', '8080'], /service: must be a DNS label/],
  ['a hub without a port', ['--service', 'web', '--app.port', '8080', '--hubs', '["hub.local"]'], /hubs\[0\]: must be host:port/],
  ['an unknown health check type', ['--service', 'web', '--app.port', '8080', '--health-check', '{"type":"ping"}'], /health_check\.type/],
  ['a bad upstream', ['--service', 'web', '--app.port', '8080', '--upstreams', '[{"service":"Bad_Name"}]'], /upstreams\[0\]\.service/],
  ['a weight of 0', ['--service', 'web', '--app.port', '8080', '--weight', '0'], /weight: must be an integer from 1 to 1000, got 0/],
  ['a local port out of range', ['--service', 'web', '--app.port', '8080', '--upstreams', '[{"service":"cart","local_port":70000}]'], /upstreams\[0\]\.local_port: must be an integer from 0 to 65535 \(0 picks a free port\), got 70000/],
];

for (const [what, args, message] of badConfigs) {
  test.serial(`the sidecar refuses ${what} at start with an error naming the key`, async (t) => {
    const proc = runCli(['sidecar', ...args]);
    t.is(await proc.exited, 2);
    t.regex(proc.stderr(), message);
  });
}

/** A request to the admin port from another address of this host: as another pod would call it. */
function fromElsewhere(url: string, method: 'GET' | 'POST', localAddress: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, localAddress }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test.serial('admin bound to 0.0.0.0: probes and metrics answer anyone, drain, quit, health reports, the mesh view and the dashboard answer only loopback', async (t) => {
  const hub = await startHub();
  const app = await flippableApp();
  const sidecar = startSidecar(sidecarArgs({ service: 'web', id: 'web-1', appPort: app.port, hub, extra: ['--admin-bind', '0.0.0.0', '--outbound-bind', '0.0.0.0'] }));
  t.teardown(async () => {
    sidecar.child.kill('SIGKILL');
    hub.proc.child.kill('SIGKILL');
    await app.close();
  });
  const admin = await adminOf(sidecar);
  await until(watching('web-1 HEALTHY at the hub', [sidecar, hub.proc]), async () => (await instances(hub, 'web'))[0]?.health === 'HEALTHY', PROCESS_WAIT_MS, PROCESS_POLL_MS);
  t.regex(sidecar.stderr(), /the outbound proxy listens beyond loopback/, 'binding the outbound proxy beyond loopback is warned about');

  // 127.0.0.2 stands for another pod: it reaches the port, but it is not the pod's loopback.
  for (const path of ['/ready', '/ready/proxy', '/live', '/metrics', '/ready/', '/metrics?name[]=x']) {
    t.is((await fromElsewhere(`${admin}${path}`, 'GET', '127.0.0.2')).status, 200, `${path} is served to the pod network`);
  }
  for (const [method, path] of [['POST', '/drain'], ['POST', '/quitquitquit'], ['POST', '/health/fail'], ['GET', '/config_dump'], ['GET', '/clusters'], ['GET', '/clusters/stream'], ['GET', '/ui/'], ['GET', '/ui/sidecar-app.js']] as const) {
    const res = await fromElsewhere(`${admin}${path}`, method, '127.0.0.2');
    t.is(res.status, 403, `${method} ${path} from 127.0.0.2`);
    const error = (JSON.parse(res.body) as { error: { code: string; message: string } }).error;
    t.is(error.code, 'permission_denied');
    t.regex(error.message, /answers only on loopback .* not to 127\.0\.0\.2/);
  }
  t.is((await instances(hub, 'web'))[0]?.health, 'HEALTHY', 'the refused drain changed nothing at the hub');
  t.is(sidecar.child.exitCode, null, 'the refused quit left the sidecar running');

  // From the pod's own loopback the same endpoints work.
  t.is((await fromElsewhere(`${admin}/config_dump`, 'GET', '127.0.0.1')).status, 200);
  t.is((await fromElsewhere(`${admin}/quitquitquit`, 'POST', '127.0.0.1')).status, 202);
  t.is(await sidecar.exited, 0);
});
