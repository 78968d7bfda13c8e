import test from 'ava';
import { runCli } from '../helpers/cli-process.js';

test('outrigger endpoints: exit 0 for a service with no instances, 1 with a clear error for one that does not exist', async (t) => {
  const hub = runCli(['hub', '--bind', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--log-level', 'warn']);
  t.teardown(() => hub.child.kill('SIGKILL'));
  const [, url] = await hub.waitForOutput(/REST \+ metrics\s+(http:\/\/\S+)/);
  const put = await fetch(`${url}/api/v1/namespaces/pick.local/services/empty`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
  t.is(put.status, 201);

  const empty = runCli(['endpoints', 'empty.pick.local', '--hub', url!]);
  t.is(await empty.exited, 0, empty.describe());
  t.regex(empty.stdout(), /^empty\.pick\.local: hub registry version \d+, 0 instance\(s\)$/m);

  const ghost = runCli(['endpoints', 'ghost.pick.local', '--hub', url!]);
  t.is(await ghost.exited, 1);
  t.is(ghost.stdout(), '');
  t.is(ghost.stderr(), `outrigger endpoints: service ghost in namespace pick.local does not exist at the hub ${url}\n`);

  const nowhere = runCli(['endpoints', 'ghost.nowhere.local', '--hub', url!]);
  t.is(await nowhere.exited, 1);
  t.regex(nowhere.stderr(), /service ghost in namespace nowhere\.local does not exist \(nor does the namespace\)/);

  const bad = runCli(['endpoints', 'Ghost', '--hub', url!]);
  t.is(await bad.exited, 2);
  t.regex(bad.stderr(), /service: must be <service>\.<namespace>/);
  hub.child.kill('SIGTERM');
  t.is(await hub.exited, 0);
});
