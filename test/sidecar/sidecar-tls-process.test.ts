import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { flippableApp, getJson, PROCESS_POLL_MS, PROCESS_WAIT_MS, watching } from '../helpers/cli-ports.js';
import { runCli, type CliProcess } from '../helpers/cli-process.js';
import { httpsCall, makePki, type Issued, type Pki } from '../helpers/tls-hub.js';
import { eventually, until } from '../helpers/wait.js';

const NS = 'shop.svc.cluster.local';
const spiffe = (sa: string): string => `spiffe://cluster.local/ns/shop/sa/${sa}`;

interface ClustersJson {
  clusters: Array<{ name: string; endpoints: Array<{ id: string; health: string }> }>;
}

/** A hub process serving TLS and requiring client certificates. */
async function startHub(pki: Pki): Promise<{ proc: CliProcess; http: string; grpc: string; list(): Promise<Array<{ id: string; health: string; lease: { held: boolean } }>> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'outrigger-tls-hub-'));
  const proc = runCli([
    'hub', '--bind', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--dns.listen', 'off', '--log-level', 'warn', '--data-dir', dataDir,
    '--tls.cert-file', pki.hub.cert, '--tls.key-file', pki.hub.key, '--tls.client-ca-file', pki.ca.cert, '--tls.client-auth', 'require',
  ]);
  const [, http] = await proc.waitForOutput(/REST \+ metrics\s+(https:\/\/\S+)/);
  const [, grpc] = await proc.waitForOutput(/gRPC \+ xDS\s+(\S+)/);
  const token = readFileSync(path.join(dataDir, 'bootstrap-token'), 'utf8').trim();
  // The hub requires a certificate of every client; the admin token then says who this one is.
  const client = (await pki.issue('test-admin', { usage: 'client' })).pem;
  const list = async () => (await httpsCall(http!, `/api/v1/services?namespace=${NS}`, { ca: pki.ca.pem.cert, client, token })).json.data.services;
  return { proc, http: http!, grpc: grpc!, list };
}

function startSidecar(o: { service: string; appPort: number; hub: string; pki: Pki; cert: Issued; upstream: string; serverName?: string }): CliProcess {
  return runCli(
    [
      'sidecar', '--admin-bind', '127.0.0.1', '--admin-port', '0', '--outbound-port', '0', '--dns.listen', 'off', '--log-level', 'warn',
      '--service', o.service, '--namespace', NS, '--instance-id', `${o.service}-1`, '--app.port', String(o.appPort),
      '--health-check', JSON.stringify({ type: 'http', path: '/healthz', interval: '200ms', timeout: '1s', rise: 1, fall: 2 }),
      '--hubs', JSON.stringify([o.hub]), '--upstreams', JSON.stringify([{ service: o.upstream }]),
      '--heartbeat-interval', '1s', '--reconnect-max-backoff', '1s', '--cache-file', 'off',
      '--hub-tls.enabled', 'true', '--hub-tls.ca-file', o.pki.ca.cert, '--hub-tls.cert-file', o.cert.cert, '--hub-tls.key-file', o.cert.key,
      ...(o.serverName !== undefined ? ['--hub-tls.server-name', o.serverName] : []),
    ],
    { TMPDIR: mkdtempSync(path.join(tmpdir(), 'outrigger-sidecar-test-')) },
  );
}

async function adminOf(proc: CliProcess): Promise<string> {
  const [, admin] = await proc.waitForOutput(/admin\s+(http:\/\/\S+)/);
  return admin!;
}

test.serial('sidecars with hub_tls and client certificates register at a TLS hub that requires them, and get each other as peers', async (t) => {
  const pki = await makePki();
  const hub = await startHub(pki);
  const apps = await Promise.all([flippableApp(), flippableApp()]);
  const web = startSidecar({ service: 'web', appPort: apps[0]!.port, hub: hub.grpc, pki, cert: await pki.issue('web', { uris: [spiffe('web')], usage: 'client' }), upstream: `api.${NS}` });
  const api = startSidecar({ service: 'api', appPort: apps[1]!.port, hub: hub.grpc, pki, cert: await pki.issue('api', { uris: [spiffe('api')], usage: 'client' }), upstream: `web.${NS}` });
  t.teardown(async () => {
    for (const p of [web, api, hub.proc]) p.child.kill('SIGKILL');
    await Promise.all(apps.map((a) => a.close()));
  });
  const all = [web, api, hub.proc];

  await until(watching('web-1 and api-1 HEALTHY at the hub, over their sessions', all), async () => {
    const list = await hub.list();
    return ['web-1', 'api-1'].every((id) => list.some((i) => i.id === id && i.health === 'HEALTHY' && i.lease.held));
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);

  const adminWeb = await adminOf(web);
  const peers = await eventually(watching('web to receive api-1 over xDS', all), async () => {
    const c = (await getJson<ClustersJson>(`${adminWeb}/clusters`))?.body;
    return c?.clusters.find((x) => x.name === `api.${NS}`)?.endpoints.some((e) => e.id === 'api-1') ? c : undefined;
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  t.truthy(peers);
  await until(watching('web ready', all), async () => (await getJson(`${adminWeb}/ready`))?.status === 200, PROCESS_WAIT_MS, PROCESS_POLL_MS);
});

test.serial('a sidecar dialing the hub under a name its certificate does not carry says so in its log and /ready', async (t) => {
  const pki = await makePki();
  const hub = await startHub(pki);
  const app = await flippableApp();
  const sidecar = startSidecar({
    service: 'web', appPort: app.port, hub: hub.grpc, pki, cert: await pki.issue('web', { uris: [spiffe('web')], usage: 'client' }),
    upstream: `api.${NS}`, serverName: 'hub.example.com',
  });
  t.teardown(async () => {
    sidecar.child.kill('SIGKILL');
    hub.proc.child.kill('SIGKILL');
    await app.close();
  });
  const admin = await adminOf(sidecar);
  const line = await eventually(watching('the sidecar to log the TLS failure', [sidecar]), () =>
    sidecar.stderr().split('\n').find((l) => l.includes('TLS with the hub failed')), PROCESS_WAIT_MS, PROCESS_POLL_MS);
  const logged = JSON.parse(line) as { level: string; error: string };
  t.is(logged.level, 'error');
  t.regex(logged.error, /hub\.example\.com/);
  t.regex(logged.error, /set hub_tls\.server_name to a name it carries/);

  const ready = await eventually('/ready to name the TLS failure', async () => {
    const r = await getJson<{ ready: boolean; reasons?: string[] }>(`${admin}/ready`);
    return r?.body.reasons?.some((x) => x.startsWith('TLS with the hub failed')) ? r : undefined;
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  t.is(ready.status, 503);
  t.deepEqual(await hub.list(), [], 'nothing reached the hub');
});
