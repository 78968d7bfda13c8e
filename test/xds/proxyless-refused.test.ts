/**
 * Without an anonymous policy, a proxyless gRPC client, which cannot send a token, is refused:
 * its ADS stream ends UNAUTHENTICATED and its calls fail. (See proxyless-anonymous.test.ts.)
 */
import * as grpcXds from '@grpc/grpc-js-xds';
import test from 'ava';
import { startAuthHub, type AuthHub } from '../helpers/auth-hub.js';
import { until } from '../helpers/wait.js';
import { EchoClient, startEchoServer, type EchoServer } from '../helpers/xds-echo.js';

let h: AuthHub;
let echo: EchoServer;

test.before(async () => {
  h = await startAuthHub();
  process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify({
    xds_servers: [{ server_uri: h.addresses.grpc, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'proxyless-refused', locality: {} },
  });
  grpcXds.register();
  echo = await startEchoServer('echo');
  h.hub.registry.register({ id: 'echo-1', service: 'echo', namespace: 'demo.local', address: '127.0.0.1', port: echo.port, protocol: 'grpc', ttl: 0 });
});

test.after.always(async () => {
  await h?.close();
  await echo?.close();
});

test('without the anonymous policy a proxyless client is refused and its calls fail', async (t) => {
  const c = new EchoClient('xds:///echo.demo.local');
  t.teardown(() => c.close());
  const err = await c.call(5_000).then(
    () => undefined,
    (e: Error) => e,
  );
  t.truthy(err, 'the call fails');
  await until('the hub to refuse the ADS stream', () =>
    h.logs.some((l) => l.msg === 'audit' && l.op === 'StreamAggregatedResources' && l.result === 'unauthenticated'),
  );
  t.is(h.hub.registry.getInstance('echo-1')?.health, 'HEALTHY', 'the service is there; the client was refused, not the service missing');
  t.is(echo.calls, 0);
  const refusals = await h.hub.metrics.authRefusals.get();
  t.true(refusals.values.some((v) => v.labels.api === 'grpc' && v.labels.code === 'unauthenticated' && v.value >= 1));
});
