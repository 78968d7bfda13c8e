/**
 * A real proxyless gRPC client (@grpc/grpc-js-xds) can send no token: its bootstrap offers only
 * `insecure` and `google_default` channel credentials. Against a hub with auth on, it resolves
 * through the anonymous policy, and only within its scopes. (The bootstrap is process-wide, so
 * the hub without an anonymous policy has a file of its own: proxyless-refused.test.ts.)
 */
import * as grpcXds from '@grpc/grpc-js-xds';
import test from 'ava';
import { startAuthHub, type AuthHub } from '../helpers/auth-hub.js';
import { eventually } from '../helpers/wait.js';
import { EchoClient, startEchoServer, type EchoServer } from '../helpers/xds-echo.js';

let h: AuthHub;
let echo: EchoServer;
const clients: EchoClient[] = [];

test.before(async () => {
  h = await startAuthHub({ auth: { anonymous: { enabled: true, scopes: ['demo.local'] } } });
  process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify({
    xds_servers: [{ server_uri: h.addresses.grpc, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'proxyless-anonymous', locality: {} },
  });
  grpcXds.register();
  echo = await startEchoServer('echo');
  for (const namespace of ['demo.local', 'private.local']) {
    h.hub.registry.register({ id: `echo-${namespace}`, service: 'echo', namespace, address: '127.0.0.1', port: echo.port, protocol: 'grpc', ttl: 0 });
  }
});

test.after.always(async () => {
  for (const c of clients) c.close();
  await h?.close();
  await echo?.close();
});

test.serial('with the anonymous policy granting read, a proxyless client resolves and calls', async (t) => {
  const c = new EchoClient('xds:///echo.demo.local');
  clients.push(c);
  const answer = await eventually('a call through xds:///echo.demo.local', () => c.call(5_000).catch(() => undefined), 20_000, 100);
  t.is(answer, 'echo');
  t.true(h.logs.some((l) => l.msg === 'xds stream opened' && l.node === 'proxyless-anonymous'));
});

test.serial('outside the anonymous scopes the service does not exist for it, and the refusal is audited', async (t) => {
  const c = new EchoClient('xds:///echo.private.local');
  clients.push(c);
  const err = await c.call(5_000).then(
    () => undefined,
    (e: Error) => e,
  );
  t.truthy(err, 'the call fails: the listener never resolves for this client');
  t.is(echo.calls, 1, 'only the first test reached the server');
  t.like(
    h.logs.find((l) => l.msg === 'audit' && l.result === 'permission_denied' && l.op === 'StreamAggregatedResources'),
    { who: 'anonymous', action: 'service:read', resource: 'echo.private.local' },
  );
});
