import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { runCli } from '../helpers/cli-process.js';
import { startHubProcess } from '../helpers/hub-process.js';

test('outrigger endpoints: exit 0 for a service with no instances, 1 with a clear error for one that does not exist', async (t) => {
  const started = await startHubProcess();
  const { proc: hub, http: url, token } = started;
  t.teardown(() => hub.child.kill('SIGKILL'));
  const put = await fetch(`${url}/api/v1/namespaces/pick.local/services/empty`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: '{}',
  });
  t.is(put.status, 201);

  const noToken = runCli(['endpoints', 'empty.pick.local', '--hub', url], { OUTRIGGER_TOKEN: '' });
  t.is(await noToken.exited, 2);
  t.regex(noToken.stderr(), /refused the request: no credentials.*give a token with --token-file or OUTRIGGER_TOKEN/);

  const withFlag = runCli(['endpoints', 'empty.pick.local', '--hub', url, '--token', token], { OUTRIGGER_TOKEN: '' });
  t.is(await withFlag.exited, 0, withFlag.describe());
  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-endpoints-'));
  writeFileSync(path.join(dir, 'token'), `${token}\n`, { mode: 0o600 });
  writeFileSync(path.join(dir, 'empty'), '\n');
  const fromFile = runCli(['endpoints', 'empty.pick.local', '--hub', url, '--token-file', path.join(dir, 'token')], { OUTRIGGER_TOKEN: '' });
  t.is(await fromFile.exited, 0, fromFile.describe());
  for (const [file, why] of [
    ['missing', /--token-file: cannot read .*missing: ENOENT/],
    ['empty', /--token-file: .*empty is empty; it must hold the token/],
  ] as const) {
    const bad = runCli(['endpoints', 'empty.pick.local', '--hub', url, '--token-file', path.join(dir, file)], { OUTRIGGER_TOKEN: '' });
    t.is(await bad.exited, 2, bad.describe());
    t.regex(bad.stderr(), why);
  }

  // As the README has the user do it: export OUTRIGGER_TOKEN once.
  const asUser = { OUTRIGGER_TOKEN: token };
  const empty = runCli(['endpoints', 'empty.pick.local', '--hub', url], asUser);
  t.is(await empty.exited, 0, empty.describe());
  t.regex(empty.stdout(), /^empty\.pick\.local: hub registry version \d+, 0 instance\(s\)$/m);

  const ghost = runCli(['endpoints', 'ghost.pick.local', '--hub', url], asUser);
  t.is(await ghost.exited, 1);
  t.is(ghost.stdout(), '');
  t.is(ghost.stderr(), `outrigger endpoints: service ghost in namespace pick.local does not exist at the hub ${url}\n`);

  const nowhere = runCli(['endpoints', 'ghost.nowhere.local', '--hub', url], asUser);
  t.is(await nowhere.exited, 1);
  t.regex(nowhere.stderr(), /service ghost in namespace nowhere\.local does not exist \(nor does the namespace\)/);

  const bad = runCli(['endpoints', 'Ghost', '--hub', url], asUser);
  t.is(await bad.exited, 2);
  t.regex(bad.stderr(), /service: must be <service>\.<namespace>/);
  hub.child.kill('SIGTERM');
  t.is(await hub.exited, 0);
});
