/**
 * A sidecar presents its identity to the hub: a token file, re-read when it changes. Refused, it
 * says so in its log, in /ready and in a metric, and keeps trying with backoff: real hub and
 * sidecar processes, as a user runs them.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { flippableApp, getJson, PROCESS_POLL_MS, PROCESS_WAIT_MS, watching } from '../helpers/cli-ports.js';
import { runCli, type CliProcess } from '../helpers/cli-process.js';
import { startHubProcess, type HubProcess } from '../helpers/hub-process.js';
import { eventually, until } from '../helpers/wait.js';

function startSidecar(hub: HubProcess, service: string, tokenFile: string, appPort: number, upstreams: string[] = []): CliProcess {
  return runCli(
    [
      'sidecar', '--admin-bind', '127.0.0.1', '--admin-port', '0', '--outbound-port', '0', '--dns.listen', 'off', '--log-level', 'warn',
      '--service', service, '--namespace', 'demo.local', '--instance-id', `${service}-1`, '--app.port', String(appPort),
      '--health-check', JSON.stringify({ type: 'tcp', interval: '200ms' }),
      '--hubs', JSON.stringify([hub.grpc]), '--hub-token-file', tokenFile, '--cache-file', 'off',
      '--upstreams', JSON.stringify(upstreams.map((s) => ({ service: s }))),
      '--reconnect-max-backoff', '1s',
    ],
    { TMPDIR: mkdtempSync(path.join(tmpdir(), 'outrigger-sidecar-auth-')) },
  );
}

const refusals = async (admin: string, api: string, code: string): Promise<number> => {
  const res = await fetch(`${admin}/metrics`);
  const m = new RegExp(`^outrigger_sidecar_hub_refusals_total\\{api="${api}",code="${code}"\\} (\\d+)$`, 'm').exec(await res.text());
  return m === null ? 0 : Number(m[1]);
};

test.serial("a sidecar with another service's token is refused, says so, retries, and registers once its token file holds a right one", async (t) => {
  const hub = await startHubProcess();
  const app = await flippableApp();
  const wrong = await hub.tokenFile('service', ['demo.local/api']);
  const right = await hub.tokenFile('service', ['demo.local/web']);
  const tokenFile = path.join(mkdtempSync(path.join(tmpdir(), 'outrigger-rotating-')), 'token');
  copyFileSync(wrong, tokenFile);
  const sidecar = startSidecar(hub, 'web', tokenFile, app.port);
  t.teardown(async () => {
    for (const p of [sidecar, hub.proc]) p.child.kill('SIGKILL');
    await app.close();
  });
  const [, admin] = await sidecar.waitForOutput(/admin\s+(http:\/\/\S+)/);
  const ready = await eventually(
    watching('/ready to name the refusal', [sidecar, hub.proc]),
    async () => {
      const r = await getJson<{ ready: boolean; reasons?: string[] }>(`${admin}/ready`);
      return r?.body.reasons?.find((x) => x.startsWith("the hub refused this sidecar's registration"));
    },
    PROCESS_WAIT_MS,
    PROCESS_POLL_MS,
  );
  t.regex(ready, /permission_denied: instance:write on web\.demo\.local is not allowed for token tok-[0-9a-f]+ \(service; scopes demo\.local\/api; reads \*\)/);
  await until('a second refusal: it keeps trying', async () => (await refusals(admin!, 'session', 'permission_denied')) >= 2, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  t.regex(sidecar.stderr(), /the hub refused this sidecar/);

  // The token is rotated in place, as Kubernetes rotates a projected token.
  writeFileSync(tokenFile, readToken(right));
  await until(watching('web registered with the new token', [sidecar, hub.proc]), async () => {
    const r = await getJson<{ data: { services: Array<{ id: string }> } }>(`${hub.http}/api/v1/services?service_name=web.demo.local`, hub.token);
    return r?.body.data.services.some((i) => i.id === 'web-1') ?? false;
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  await until('/ready without the refusal', async () => (await getJson(`${admin}/ready`))?.status === 200, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  t.false(sidecar.stderr().includes(readToken(right).trim()) || sidecar.stderr().includes(readToken(wrong).trim()), 'no token in the log');
});

test.serial('a sidecar whose token the hub does not know is refused on its xDS stream too, and /ready/proxy says why', async (t) => {
  const hub = await startHubProcess();
  const app = await flippableApp();
  const tokenFile = path.join(mkdtempSync(path.join(tmpdir(), 'outrigger-bad-token-')), 'token');
  writeFileSync(tokenFile, 'ort_nobody-issued-this-token\n');
  const sidecar = startSidecar(hub, 'web', tokenFile, app.port, ['api']);
  t.teardown(async () => {
    for (const p of [sidecar, hub.proc]) p.child.kill('SIGKILL');
    await app.close();
  });
  const [, admin] = await sidecar.waitForOutput(/admin\s+(http:\/\/\S+)/);
  const reason = await eventually(
    watching('/ready/proxy to name the refused xDS stream', [sidecar, hub.proc]),
    async () => (await getJson<{ reasons?: string[] }>(`${admin}/ready/proxy`))?.body.reasons?.find((x) => x.includes('xDS stream')),
    PROCESS_WAIT_MS,
    PROCESS_POLL_MS,
  );
  t.regex(reason, /the hub refused this sidecar's xDS stream: unauthenticated: the bearer token is not one the hub knows/);
  await until('both refusals counted', async () => (await refusals(admin!, 'xds', 'unauthenticated')) >= 1 && (await refusals(admin!, 'session', 'unauthenticated')) >= 1, PROCESS_WAIT_MS, PROCESS_POLL_MS);
});

function readToken(file: string): string {
  return readFileSync(file, 'utf8');
}
