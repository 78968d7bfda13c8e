import test from 'ava';
import { runCli } from '../helpers/cli-process.js';

test.serial('outrigger hub starts on the configured ports, serves REST, and exits 0 on SIGTERM', async (t) => {
  const hub = runCli(['hub', '--grpc-port', '0', '--http-port', '0', '--bind', '127.0.0.1']);
  const [, http] = await hub.waitForOutput(/REST \+ metrics\s+(http:\/\/\S+)/);
  await hub.waitForOutput(/gRPC \+ xDS\s+127\.0\.0\.1:\d+/);
  const reg = await fetch(`${http}/api/v1/services`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'users', namespace: 'shop.local', address: '10.0.0.1', port: 8080 }),
  });
  t.is(reg.status, 201);
  const found = (await (await fetch(`${http}/api/v1/discover?service_name=users&namespace=shop.local`)).json()) as {
    data: { services: Array<{ address: string }> };
  };
  t.deepEqual(found.data.services.map((s) => s.address), ['10.0.0.1']);
  t.is((await fetch(`${http}/ready`)).status, 200);
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
  const first = runCli(['hub', '--grpc-port', '0', '--http-port', '0', '--bind', '127.0.0.1']);
  const [, port] = await first.waitForOutput(/REST \+ metrics\s+http:\/\/127\.0\.0\.1:(\d+)/);
  const second = runCli(['hub', '--grpc-port', '0', '--http-port', port!, '--bind', '127.0.0.1']);
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
