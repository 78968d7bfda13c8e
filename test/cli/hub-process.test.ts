import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { runCli } from '../helpers/cli-process.js';

test.serial('outrigger hub starts with auth on: a first start writes a bootstrap admin token only its user can read, and REST answers it', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'outrigger-hub-first-'));
  const hub = runCli(['hub', '--grpc-port', '0', '--http-port', '0', '--dns.listen', 'off', '--bind', '127.0.0.1'], { OUTRIGGER_DATA_DIR: dataDir });
  t.teardown(() => hub.child.kill('SIGKILL'));
  const [, http] = await hub.waitForOutput(/REST \+ metrics\s+(http:\/\/\S+)/);
  await hub.waitForOutput(/gRPC \+ xDS\s+127\.0\.0\.1:\d+/);
  const tokenFile = path.join(dataDir, 'bootstrap-token');
  await hub.waitForOutput(new RegExp(`first start: the bootstrap admin token is in ${tokenFile.replaceAll('.', '\\.')}`));
  t.regex(hub.stdout(), new RegExp(`export OUTRIGGER_TOKEN=\\$\\(cat ${tokenFile.replaceAll('.', '\\.')}\\)`));
  t.is(statSync(tokenFile).mode & 0o777, 0o600, 'the token file is readable only by its owner');
  const token = readFileSync(tokenFile, 'utf8').trim();
  t.false(hub.stdout().includes(token) || hub.stderr().includes(token), 'the token itself is never printed or logged');
  t.regex(hub.stderr(), /wrote a bootstrap admin token/);

  const body = JSON.stringify({ name: 'users', namespace: 'shop.local', address: '10.0.0.1', port: 8080 });
  const anonymous = await fetch(`${http}/api/v1/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  t.is(anonymous.status, 401);
  t.is(anonymous.headers.get('www-authenticate'), 'Bearer realm="outrigger"');
  t.is(((await anonymous.json()) as { error: { code: string } }).error.code, 'unauthenticated');
  const auth = { authorization: `Bearer ${token}` };
  const reg = await fetch(`${http}/api/v1/services`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body });
  t.is(reg.status, 201);
  const found = (await (await fetch(`${http}/api/v1/discover?service_name=users&namespace=shop.local`, { headers: auth })).json()) as {
    data: { services: Array<{ address: string }> };
  };
  t.deepEqual(found.data.services.map((s) => s.address), ['10.0.0.1']);
  t.is((await fetch(`${http}/ready`)).status, 200, 'probes need no token');
  hub.child.kill('SIGTERM');
  t.is(await hub.exited, 0);

  // A second start keeps the tokens and writes no new bootstrap token.
  const again = runCli(['hub', '--grpc-port', '0', '--http-port', '0', '--dns.listen', 'off', '--bind', '127.0.0.1'], { OUTRIGGER_DATA_DIR: dataDir });
  t.teardown(() => again.child.kill('SIGKILL'));
  const [, http2] = await again.waitForOutput(/REST \+ metrics\s+(http:\/\/\S+)/);
  await again.waitForOutput(/auth\s+on; tokens in /);
  t.is(readFileSync(tokenFile, 'utf8').trim(), token);
  t.is((await fetch(`${http2}/api/v1/auth/whoami`, { headers: auth })).status, 200);
  again.child.kill('SIGTERM');
  t.is(await again.exited, 0);
});

test.serial('auth.enabled: false is explicit, and the hub warns while it is off', async (t) => {
  const hub = runCli(['hub', '--grpc-port', '0', '--http-port', '0', '--dns.listen', 'off', '--bind', '127.0.0.1', '--auth.enabled', 'false']);
  t.teardown(() => hub.child.kill('SIGKILL'));
  const [, http] = await hub.waitForOutput(/REST \+ metrics\s+(http:\/\/\S+)/);
  await hub.waitForOutput(/auth\s+OFF \(auth\.enabled: false\)/);
  const whoami = (await (await fetch(`${http}/api/v1/auth/whoami`, { headers: { authorization: 'Basic bm90OnVzZWQ=' } })).json()) as { data: { role: string; kind: string } };
  t.deepEqual([whoami.data.kind, whoami.data.role], ['open', 'admin'], 'credentials are not even read');
  t.regex(hub.stderr(), /auth is disabled/);
  hub.child.kill('SIGTERM');
  t.is(await hub.exited, 0);
});

test.serial('outrigger hub --help lists every option with its environment variable', async (t) => {
  const help = runCli(['hub', '--help']);
  t.is(await help.exited, 0);
  t.regex(help.stdout(), /--grpc-port <integer>/);
  t.regex(help.stdout(), /OUTRIGGER_SELF_PRESERVATION__MAX_EXPIRING_SHARE/);
});

test.serial('a bad config value stops the hub at start with a message naming the key', async (t) => {
  const hub = runCli(['hub', '--http-port', '0'], { OUTRIGGER_GRPC_PORT: '70000' });
  t.is(await hub.exited, 2);
  t.regex(hub.stderr(), /grpc_port: must be an integer from 0 to 65535.*got 70000 \(from environment variable OUTRIGGER_GRPC_PORT\)/);
});

test.serial('a port already in use is reported with the key to change', async (t) => {
  const first = runCli(['hub', '--grpc-port', '0', '--http-port', '0', '--dns.listen', 'off', '--bind', '127.0.0.1']);
  t.teardown(() => first.child.kill('SIGKILL'));
  const [, port] = await first.waitForOutput(/REST \+ metrics\s+http:\/\/127\.0\.0\.1:(\d+)/);
  const second = runCli(['hub', '--grpc-port', '0', '--http-port', port!, '--dns.listen', 'off', '--bind', '127.0.0.1']);
  t.is(await second.exited, 2);
  t.regex(second.stderr(), new RegExp(`http_port: port ${port} is already in use`));
  first.child.kill('SIGTERM');
  t.is(await first.exited, 0);
});

test.serial('an unknown command prints the usage and fails', async (t) => {
  const cli = runCli(['hubb']);
  t.is(await cli.exited, 2);
  t.regex(cli.stderr(), /unknown command "hubb"/);
  t.regex(cli.stderr(), /Commands:/);
});
