/**
 * A write the shared store refuses (etcd away) is answered 503 with Retry-After on every HTTP
 * surface of the hub, each in its own dialect's error shape: REST, Consul (through the npm
 * `consul` client), Eureka (eureka-js-client shows the status; the header over plain HTTP) and
 * Cloud Map (through the AWS SDK). Reads go on from the snapshot.
 */
import { randomUUID } from 'node:crypto';
import { CreateHttpNamespaceCommand, ListNamespacesCommand, ServiceDiscoveryServiceException } from '@aws-sdk/client-servicediscovery';
import test from 'ava';
import Consul from 'consul';
import { Eureka } from 'eureka-js-client';
import { STORE_RETRY_AFTER_SECONDS } from '../../src/common/errors.js';
import { startCloudMapHub, type CloudMapHub } from '../helpers/cloudmap-hub.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { until } from '../helpers/wait.js';

const RETRY_AFTER = String(STORE_RETRY_AFTER_SECONDS);
const quiet = { warn() {}, info() {}, debug() {}, error() {} };

let etcd: EtcdCluster | undefined;
let hub: CloudMapHub | undefined;
const teardowns: Array<() => Promise<void> | void> = [];

// One hub over a single-member etcd that is then stopped: every test below writes while it is away.
test.before(async () => {
  etcd = await EtcdCluster.start(1);
  hub = await startCloudMapHub({ teardown: (fn) => void teardowns.push(fn) }, { store: { kind: 'etcd', endpoints: etcd.endpoints, prefix: `/outrigger-test/${randomUUID()}` } });
  const created = await hub.rest('POST', '/api/v1/services', hub.admin, { id: 'before', service: 'web', namespace: 'demo.local', address: '10.0.0.1', port: 8080 });
  if (created.status !== 201) throw new Error(`the registration before the stop answered ${created.status}: ${created.text}`);
  await etcd.stop(0);
  await until('the hub to mark its store stale', () => hub!.hub.registry.store.stale, 20_000);
});
test.after.always(async () => {
  for (const fn of teardowns) await fn();
  await etcd?.close();
});

test('REST: 503 store_unavailable with Retry-After; reads go on', async (t) => {
  const r = await hub!.rest('POST', '/api/v1/services', hub!.admin, { id: 'during', service: 'web', namespace: 'demo.local', address: '10.0.0.2', port: 8080 });
  t.is(r.status, 503);
  t.is(r.headers.get('retry-after'), RETRY_AFTER);
  t.is(r.json.error.code, 'store_unavailable');
  const read = await hub!.rest('GET', '/api/v1/services/before', hub!.admin);
  t.is(read.status, 200, 'reads are served from the snapshot');
});

test('Consul: the client sees 503, the message as plain text, and Retry-After', async (t) => {
  const consul = new Consul({ host: '127.0.0.1', port: hub!.addresses.httpPort, defaults: { token: hub!.admin } });
  const err = await t.throwsAsync<Error & { response?: { statusCode: number; headers: Record<string, string>; body: unknown } }>(
    consul.agent.service.register({ name: 'web', id: 'consul-during', address: '10.0.0.3', port: 8080 }),
  );
  t.is(err!.response?.statusCode, 503);
  t.is(err!.response?.headers['retry-after'], RETRY_AFTER);
  t.regex(err!.response?.headers['content-type'] ?? '', /^text\/plain/);
  // The client shows a plain-text body of under 80 characters as the message, the status text otherwise.
  t.regex(String(err!.response?.body), /etcd store cannot be reached/);
  t.is(hub!.hub.registry.getInstance('consul-during'), undefined, 'a refused write changes nothing');
});

test('Eureka: the client sees 503; over HTTP, the Outrigger error body and Retry-After', async (t) => {
  const base = `http://eureka:${hub!.admin}@${new URL(hub!.addresses.http).host}/eureka/v2/apps/`;
  const client = new Eureka({
    logger: quiet,
    instance: {
      app: 'ORDER-SERVICE', instanceId: 'eureka-during', hostName: 'eureka-during.example.test', ipAddr: '127.0.0.1', port: { $: 8080, '@enabled': true }, vipAddress: 'order-service',
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    },
    eureka: { serviceUrls: { default: [base] }, maxRetries: 0, registerWithEureka: true, fetchRegistry: false },
  } as never);
  const refused = await new Promise<Error | null>((resolve) => (client as unknown as { register(cb: (err: Error | null) => void): void }).register(resolve));
  t.regex(refused?.message ?? 'registered', /status: 503/);

  // eureka-js-client keeps the headers to itself: the same registration over plain HTTP.
  const res = await fetch(`${hub!.addresses.http}/eureka/v2/apps/ORDER-SERVICE`, {
    method: 'POST',
    headers: { authorization: `Bearer ${hub!.admin}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ instance: { instanceId: 'eureka-during', app: 'ORDER-SERVICE', hostName: 'h.example.test', ipAddr: '10.1.0.1', port: { $: 8080, '@enabled': 'true' }, vipAddress: 'orders', status: 'UP', dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' } } }),
  });
  t.is(res.status, 503);
  t.is(res.headers.get('retry-after'), RETRY_AFTER);
  t.is(((await res.json()) as { error: { code: string } }).error.code, 'store_unavailable');
  t.is(hub!.hub.registry.getInstance('eureka-during'), undefined, 'a refused write changes nothing');
});

test('Cloud Map: the SDK sees ServiceUnavailable (503, a server fault) with Retry-After; reads go on', async (t) => {
  const sdk = hub!.sdk();
  const err = await t.throwsAsync(sdk.send(new CreateHttpNamespaceCommand({ Name: 'during.local' })), { instanceOf: ServiceDiscoveryServiceException });
  t.is(err!.name, 'ServiceUnavailable');
  t.is(err!.$metadata.httpStatusCode, 503);
  t.is(err!.$fault, 'server');
  t.regex(err!.message, /etcd store cannot be reached/);
  const raw = (err as unknown as { $response: { headers: Record<string, string> } }).$response;
  t.is(raw.headers['retry-after'], RETRY_AFTER);
  const listed = await sdk.send(new ListNamespacesCommand({}));
  t.true(listed.Namespaces?.some((ns) => ns.Name === 'demo.local'), 'reads are served from the snapshot');
  t.is(hub!.hub.registry.getNamespace('during.local'), undefined, 'a refused write changes nothing');
});
