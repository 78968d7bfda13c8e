/**
 * `outrigger status` against a real `outrigger hub` process: healthy, with warnings (a service
 * without a healthy endpoint, a second hub that is down), and errors (no token, no hub), as
 * text and as JSON, with the token from --token-file or OUTRIGGER_TOKEN_FILE.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { runCli } from '../helpers/cli-process.js';
import { startHubProcess, type HubProcess } from '../helpers/hub-process.js';

let hub: HubProcess;

test.before(async () => {
  hub = await startHubProcess();
});

test.after.always(() => {
  hub?.proc.child.kill('SIGKILL');
});

async function status(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | string; out: string; err: string }> {
  const cli = runCli(['status', '--hub', hub.http, ...args], env);
  const code = await cli.exited;
  return { code, out: cli.stdout(), err: cli.stderr() };
}

async function register(body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${hub.http}/api/v1/services`, { method: 'POST', headers: { authorization: `Bearer ${hub.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ address: '127.0.0.1', port: 9000, ttl: 0, ...body }) });
  if (res.status !== 201) throw new Error(`register answered ${res.status}`);
}

test.serial('a well mesh exits 0; text and --json say the same; the token comes from --token-file or OUTRIGGER_TOKEN_FILE', async (t) => {
  await register({ id: 'web-1', name: 'web', namespace: 'shop.local' });
  const tokenFile = await hub.tokenFile('viewer', ['*']);
  const text = await status(['--token-file', tokenFile]);
  t.is(text.code, 0, text.out + text.err);
  t.regex(text.out, new RegExp(`^  ok    ${hub.http}  reachable, ready$`, 'm'));
  t.regex(text.out, /^Auth: on; token tok-[0-9a-f]+ \(viewer\)$/m);
  t.regex(text.out, /^Registry: 1 namespace\(s\), 1 service\(s\), 1 instance\(s\): 1 healthy, 0 unhealthy, 0 unknown, 0 draining$/m);
  t.regex(text.out, /^xDS subscribers: 0, 0 stale, 0 with NACKs$/m);
  t.regex(text.out, /^Status: OK$/m);

  const json = await status(['--json'], { OUTRIGGER_TOKEN_FILE: tokenFile });
  t.is(json.code, 0);
  const report = JSON.parse(json.out);
  t.like(report, { auth: { mode: 'token', role: 'viewer' }, registry: { namespaces: 1, services: 1, instances: { total: 1, HEALTHY: 1 } }, subscribers: { total: 0, stale: 0, nacking: 0 }, self_preservation: false, warnings: [], errors: [], exit_code: 0 });
  t.deepEqual(report.hubs, [{ url: hub.http, reachable: true, ready: true }]);
});

test.serial('a service with no healthy endpoint, and a replica that is down, are warnings: exit 1', async (t) => {
  await register({ id: 'cart-1', name: 'cart', namespace: 'shop.local', health: 'UNHEALTHY' });
  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-status-'));
  writeFileSync(path.join(dir, 'token'), `${hub.token}\n`);
  const r = await status(['--hub', 'http://127.0.0.1:1', '--token-file', path.join(dir, 'token'), '--json']);
  t.is(r.code, 1, r.out + r.err);
  const report = JSON.parse(r.out);
  t.like(report.hubs[1], { url: 'http://127.0.0.1:1', reachable: false, ready: false });
  t.like(report, { auth: { mode: 'token', role: 'admin' }, registry: { instances: { total: 2, HEALTHY: 1, UNHEALTHY: 1 } }, exit_code: 1 });
  t.true(report.warnings.some((w: string) => w === '1 service(s) with no healthy endpoint: cart.shop.local'), report.warnings.join('\n'));
  t.true(report.warnings.some((w: string) => w.startsWith('hub http://127.0.0.1:1 is unreachable')), report.warnings.join('\n'));
  const text = await status(['--token-file', path.join(dir, 'token')]);
  t.is(text.code, 1);
  t.regex(text.out, /^warning: 1 service\(s\) with no healthy endpoint: cart\.shop\.local$/m);
  t.regex(text.out, /^Status: WARNINGS \(1\)$/m);
});

test.serial('no token on a hub with auth on, or no hub at all, is an error: exit 2', async (t) => {
  const refused = await status([]);
  t.is(refused.code, 2, refused.out + refused.err);
  t.regex(refused.out, /^error: the hub at .* refused the request: .* \(give a token with --token-file or OUTRIGGER_TOKEN\)$/m);
  t.regex(refused.out, /^Status: ERROR$/m);
  const gone = runCli(['status', '--hub', 'http://127.0.0.1:1', '--json']);
  t.is(await gone.exited, 2);
  t.like(JSON.parse(gone.stdout()), { errors: ['the hub http://127.0.0.1:1 is unreachable'], exit_code: 2 });
  const bad = await status(['--token-file', path.join(tmpdir(), 'no-such-token-file')]);
  t.is(bad.code, 2);
  t.regex(bad.err, /--token-file: cannot read .*: ENOENT/);
});
