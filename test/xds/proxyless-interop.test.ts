/**
 * A real proxyless gRPC client (@grpc/grpc-js-xds) against the hub's ADS server: it resolves
 * `xds:///<service>.<namespace>` through LDS → RDS → CDS → EDS and balances over real servers.
 * The bootstrap is process-wide, so this file owns one hub for all its tests.
 */
import * as grpcXds from '@grpc/grpc-js-xds';
import test from 'ava';
import { CLUSTER_TYPE_URL } from '../../src/xds/type-urls.js';
import { eventually, until } from '../helpers/wait.js';
import { EchoClient, startEchoServer, type EchoServer } from '../helpers/xds-echo.js';
import { metricValue, registerInstance, startXdsHub, type XdsHub } from '../helpers/xds-hub.js';

let hub: XdsHub;
let a: EchoServer;
let b: EchoServer;
const clients: EchoClient[] = [];

test.before(async () => {
  hub = await startXdsHub({ coalesceMs: 10 });
  process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify({
    xds_servers: [{ server_uri: hub.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'proxyless-test', locality: {} },
  });
  grpcXds.register();
  a = await startEchoServer('a');
  b = await startEchoServer('b');
});

test.after.always(async () => {
  for (const c of clients) c.close();
  await hub?.close();
  await Promise.all([a?.close(), b?.close()]);
});

function client(target: string): EchoClient {
  const c = new EchoClient(target);
  clients.push(c);
  return c;
}

/**
 * Calls until `done` says so, with a generous upper bound. Calls that fail while the client is
 * still resolving (UNAVAILABLE) are retried; the answers are returned in order.
 */
async function callUntil(c: EchoClient, what: string, done: (answers: string[]) => boolean, timeoutMs = 20_000): Promise<string[]> {
  const answers: string[] = [];
  const errors: string[] = [];
  return eventually(
    () => `${what}; answers: ${answers.slice(-20).join(',')}; errors: ${errors.slice(-3).join(' | ')}`,
    async () => {
      if (done(answers)) return answers;
      try {
        answers.push(await c.call(5_000));
      } catch (err) {
        errors.push(String(err));
      }
      return done(answers) ? answers : undefined;
    },
    timeoutMs,
  );
}

const lastAll = (n: number, server: string) => (answers: string[]) => answers.length >= n && answers.slice(-n).every((s) => s === server);

test.serial('a proxyless client uses both servers, follows a deregistration and a new registration', async (t) => {
  registerInstance(hub.registry, { id: 'echo-a', service: 'echo', port: a.port, protocol: 'grpc' });
  registerInstance(hub.registry, { id: 'echo-b', service: 'echo', port: b.port, protocol: 'grpc' });
  const c = client('xds:///echo.demo.local');

  await callUntil(c, 'both servers to answer', (ans) => ans.includes('a') && ans.includes('b'));
  t.pass('both servers answered');

  hub.registry.deregister('echo-a');
  // Round robin over a and b never answers ten times in a row from b; the update has landed.
  await callUntil(c, 'the client to drop the deregistered server', lastAll(10, 'b'));
  const callsOnA = a.calls;
  const after = await callUntil(c, '20 more calls', (ans) => ans.length >= 20);
  t.true(after.every((s) => s === 'b'), 'every call goes to the remaining server');
  t.is(a.calls, callsOnA);

  registerInstance(hub.registry, { id: 'echo-a', service: 'echo', port: a.port, protocol: 'grpc' });
  await callUntil(c, 'the re-registered server to answer again', (ans) => ans.includes('a'));
  t.pass('the re-registered server answers again');
});

test.serial('a service balanced by least_request is accepted by a proxyless client, which falls back to round robin', async (t) => {
  hub.registry.putService('demo.local', 'lr', { lb_policy: 'least_request' });
  registerInstance(hub.registry, { id: 'lr-a', service: 'lr', port: a.port, protocol: 'grpc' });
  registerInstance(hub.registry, { id: 'lr-b', service: 'lr', port: b.port, protocol: 'grpc' });
  const c = client('xds:///lr.demo.local');

  const answers = await callUntil(c, 'both servers to answer for lr', (ans) => ans.includes('a') && ans.includes('b'));
  t.true(answers.length >= 2);
  const cds = () =>
    hub.ads
      .describeStreams()
      .flatMap((s) => s.types)
      .find((ty) => ty.type_url === CLUSTER_TYPE_URL && ty.names.includes('lr.demo.local'));
  await until('the client to ACK the clusters', () => cds()?.acked_version !== undefined && cds()?.acked_version === cds()?.sent_version);
  t.is(cds()!.nack, undefined, 'the client accepted the cluster');
  t.is(await metricValue(hub.metrics.nacks, {}), 0, 'no response was NACKed');
});

test.serial('a consistent_hash service is a ring hash for a proxyless client: one channel sticks to one server', async (t) => {
  hub.registry.putService('demo.local', 'sticky', { lb_policy: 'consistent_hash', lb_options: { hash_on: 'header', name: 'x-user' } });
  registerInstance(hub.registry, { id: 'sticky-a', service: 'sticky', port: a.port, protocol: 'grpc' });
  registerInstance(hub.registry, { id: 'sticky-b', service: 'sticky', port: b.port, protocol: 'grpc' });
  const c = client('xds:///sticky.demo.local');
  const answers = await callUntil(c, '20 calls', (ans) => ans.length >= 20);
  t.is(new Set(answers).size, 1, `calls without the header hash on the channel: ${answers.join(',')}`);
  t.is(await metricValue(hub.metrics.nacks, {}), 0);
});
