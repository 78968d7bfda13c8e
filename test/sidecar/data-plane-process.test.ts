import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { flippableApp } from '../helpers/cli-ports.js';
import { runCli, type CliProcess } from '../helpers/cli-process.js';
import { startHubProcess } from '../helpers/hub-process.js';
import { send } from '../helpers/proxy-backends.js';
import { until } from '../helpers/wait.js';

const FALLBACK = 'HTTP/1.1 falls back to node:http and undici: the raw-socket path cannot run here';

/** A hub process (auth on), and a token file for the web sidecar. */
async function startHub(t: import('ava').ExecutionContext): Promise<{ grpc: string; tokenFile: string }> {
  const hub = await startHubProcess();
  t.teardown(async () => {
    hub.proc.child.kill('SIGKILL');
    await hub.proc.exited;
  });
  return { grpc: hub.grpc, tokenFile: await hub.tokenFile('service', ['demo.local/web']) };
}

async function startSidecar(t: import('ava').ExecutionContext, hub: { grpc: string; tokenFile: string }, appPort: number, env: NodeJS.ProcessEnv = {}): Promise<{ proc: CliProcess; outbound: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-data-plane-'));
  const proc = runCli(
    [
      'sidecar', '--service', 'web', '--namespace', 'demo.local', '--instance-id', 'web-1', '--app.port', String(appPort),
      '--health-check', JSON.stringify({ type: 'http', path: '/healthz', interval: '200ms', timeout: '1s', rise: 1 }),
      '--hubs', JSON.stringify([hub.grpc]), '--hub-token-file', hub.tokenFile, '--admin-bind', '127.0.0.1', '--admin-port', '0', '--outbound-port', '0', '--dns.listen', 'off', '--log-level', 'warn', '--cache-file', 'off',
    ],
    { TMPDIR: dir, ...env },
  );
  t.teardown(async () => {
    proc.child.kill('SIGKILL');
    await proc.exited;
  });
  const [, outbound] = await proc.waitForOutput(/outbound\s+http:\/\/[^\s:]+:(\d+)/);
  return { proc, outbound: Number(outbound) };
}

/** The sidecar routes to its own service (its app) once the hub has it healthy. */
async function routesToItself(outbound: number): Promise<void> {
  await until('the sidecar to route web.demo.local', async () => (await send(outbound, '/', { headers: { host: 'web.demo.local' } })).body === 'hello');
}

test('without Node\'s parser binding the sidecar warns once and serves HTTP/1.1 through node:http and undici', async (t) => {
  const hub = await startHub(t);
  const app = await flippableApp();
  t.teardown(() => app.close());
  // A preload that removes the internal binding, as a Node release without it would (Node's own
  // HTTP modules are loaded first: they keep the reference they took).
  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-no-parser-'));
  const preload = path.join(dir, 'no-http-parser.cjs');
  writeFileSync(preload, "require('node:http');\nrequire('node:http2');\nrequire('_http_common').HTTPParser = undefined;\n");
  const { proc, outbound } = await startSidecar(t, hub, app.port, { NODE_OPTIONS: `--require ${preload}` });
  await routesToItself(outbound);
  const warnings = proc.stderr().split('\n').filter((l) => l.includes(FALLBACK));
  t.is(warnings.length, 1, proc.stderr());
  t.regex(warnings[0]!, /"reason":"Node's HTTP parser binding \(_http_common\.HTTPParser\) is missing"/);
  const r = await send(outbound, 'http://web.demo.local/x');
  t.is(r.status, 200);
  t.is(r.body, 'hello');
});

test('with the binding the raw-socket path serves, with no warning; a name the hub does not know is answered 502 unknown_service', async (t) => {
  const hub = await startHub(t);
  const app = await flippableApp();
  t.teardown(() => app.close());
  const { proc, outbound } = await startSidecar(t, hub, app.port);
  await routesToItself(outbound);
  t.false(proc.stderr().includes(FALLBACK), proc.stderr());
  const started = Date.now();
  const ghost = await send(outbound, '/', { headers: { host: 'ghost.demo.local' } });
  t.log(`unknown_service after ${Date.now() - started} ms (the hub answers; the ensure bound is 10 s)`);
  t.is(ghost.status, 502);
  t.is(ghost.headers['x-outrigger-error'], 'unknown_service');
});
