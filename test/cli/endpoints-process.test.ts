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
  t.regex(noToken.stderr(), /refused the request: no credentials.*give a token with --token or OUTRIGGER_TOKEN/);

  const withFlag = runCli(['endpoints', 'empty.pick.local', '--hub', url, '--token', token], { OUTRIGGER_TOKEN: '' });
  t.is(await withFlag.exited, 0, withFlag.describe());

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
