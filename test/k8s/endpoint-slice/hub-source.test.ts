import test from 'ava';
import { OutriggerError } from '../../../src/common/errors.js';
import { hubConfigSchema } from '../../../src/config/hub-config.js';
import { loadConfig } from '../../../src/config/layered-config.js';
import { Hub, type HubAddresses } from '../../../src/hub/hub.js';
import { parseWith } from '../../../src/model/parse-input.js';
import { AdsClient } from '../../../src/xds/client/ads-client.js';
import { RecordingWatcher } from '../../helpers/ads-client-watcher.js';
import { call } from '../../helpers/http-rest-server.js';
import { until } from '../../helpers/wait.js';
import { FakeKubeApi, endpointSlice, kubeService, type SliceEndpoint } from '../helpers/fake-kube-api.js';

const NS = 'shop.svc.cluster.local';
const CLUSTER = `web.${NS}`;

interface Fixture {
  api: FakeKubeApi;
  hub: Hub;
  addresses: HubAddresses;
  /** The hub's REST view of web.shop: id → [health, source]. */
  rest(): Promise<Record<string, [string, string]>>;
  subscribe(name?: string): RecordingWatcher;
}

async function fixture(
  t: { teardown(fn: () => void | Promise<void>): void },
  seed: (api: FakeKubeApi) => void = () => {},
): Promise<Fixture> {
  const api = await FakeKubeApi.start();
  seed(api);
  const config = parseWith(hubConfigSchema, {
    bind: '127.0.0.1',
    grpc_port: 0,
    http_port: 0,
    dns: { listen: 'off' },
    // These tests are about the source; auth has tests of its own.
    auth: { enabled: false },
    kubernetes: { enabled: true, kubeconfig: api.writeKubeconfig(), max_backoff: '2s' },
  });
  const hub = new Hub(config);
  const clients: AdsClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.stop();
    await hub.stop();
    await api.close();
  });
  const addresses = await hub.start();
  return {
    api,
    hub,
    addresses,
    async rest() {
      const r = await call({ url: addresses.http }, 'GET', `/api/v1/services?namespace=${NS}&service_name=web`);
      const out: Record<string, [string, string]> = {};
      for (const s of r.json.data.services as Array<{ id: string; health: string; source: string }>) out[s.id] = [s.health, s.source];
      return out;
    },
    subscribe(name = CLUSTER) {
      const c = new AdsClient({ hubs: [addresses.grpc], node: { id: `watcher-${clients.length}`, cluster: 'caller.demo.local', locality: { region: '', zone: '' } }, backoff: { initialMs: 20, maxMs: 100 } });
      clients.push(c);
      const w = new RecordingWatcher();
      c.watch(name, w);
      c.start();
      return w;
    },
  };
}

const pod = (n: number, extra: Partial<SliceEndpoint> = {}): SliceEndpoint => ({ ip: `10.1.0.${n}`, pod: { name: `web-${n}`, uid: `uid-${n}` }, node: 'node-a', zone: 'zone-a', ...extra });
const webSlice = (endpoints: SliceEndpoint[], name = 'web-abc') => endpointSlice('shop', name, 'web', endpoints);
const health = (w: RecordingWatcher) => Object.fromEntries(w.assignment?.endpoints.map((e) => [e.id, e.health]) ?? []);

test('slices added, changed and deleted reach the registry, the REST API and an xDS subscriber', async (t) => {
  const f = await fixture(t, (api) => {
    api.upsert('services', kubeService('shop', 'web'));
    api.upsert('endpointslices', webSlice([pod(1)]));
  });
  const w = f.subscribe();
  await w.until('uid-1 over xDS', () => health(w)['uid-1'] === 'HEALTHY');
  const e = w.assignment!.endpoints[0]!;
  t.like(e, { address: '10.1.0.1', port: 8080, zone: 'zone-a', protocol: 'http' });
  const inst = f.hub.registry.getInstance('uid-1')!;
  t.deepEqual(inst.metadata, { 'k8s.namespace': 'shop', 'k8s.pod_name': 'web-1', 'k8s.node_name': 'node-a', 'k8s.port_name': 'http' });
  t.deepEqual(await f.rest(), { 'uid-1': ['HEALTHY', 'kubernetes'] });

  f.api.upsert('endpointslices', webSlice([pod(1), pod(2)]));
  await w.until('a second pod', () => health(w)['uid-2'] === 'HEALTHY');
  f.api.upsert('endpointslices', webSlice([pod(1), pod(2, { ready: false, serving: false })]));
  await w.until('a pod that is not ready', () => health(w)['uid-2'] === 'UNHEALTHY');
  f.api.upsert('endpointslices', webSlice([pod(1), pod(2, { ready: false, serving: true, terminating: true })]));
  await w.until('a terminating pod that still serves', () => health(w)['uid-2'] === 'DRAINING');
  t.deepEqual(await f.rest(), { 'uid-1': ['HEALTHY', 'kubernetes'], 'uid-2': ['DRAINING', 'kubernetes'] });
  f.api.upsert('endpointslices', webSlice([pod(1)]));
  await w.until('the terminated pod to go', () => w.ids.join() === 'uid-1');
  f.api.remove('endpointslices', 'shop', 'web-abc');
  await w.until('the deleted slice to empty the cluster', () => w.ids.length === 0);
  t.deepEqual(await f.rest(), {});
  t.truthy(f.hub.registry.getService(NS, 'web'), 'the service stays, with no instances');

  const metrics = (await call({ url: f.addresses.http }, 'GET', '/metrics')).text;
  t.regex(metrics, /^outrigger_hub_k8s_events_total\{resource="endpointslices"\} 5$/m);
  t.regex(metrics, /^# TYPE outrigger_hub_k8s_relists_total counter$/m);
  t.regex(metrics, /^# TYPE outrigger_hub_k8s_watch_errors_total counter$/m);
});

test('a Service without endpoints is an empty cluster, not a missing one', async (t) => {
  const f = await fixture(t, (api) => {
    api.upsert('services', kubeService('shop', 'api'));
    api.upsert('services', kubeService('shop', 'ext', 'ExternalName'));
  });
  await f.hub.kubernetesSource!.whenSynced();
  const w = f.subscribe(`api.${NS}`);
  await w.until('the cluster and its (empty) endpoints', () => w.cluster !== undefined && w.assignment !== undefined);
  t.is(w.absent, 0);
  t.deepEqual(w.ids, []);
  t.is(f.hub.registry.getService(NS, 'ext'), undefined, 'an ExternalName Service has no endpoints to serve');
});

test('a 410 relist through the hub converges: an instance deleted during the gap disappears', async (t) => {
  const f = await fixture(t, (api) => {
    api.upsert('endpointslices', webSlice([pod(1)], 'web-a'));
    api.upsert('endpointslices', webSlice([pod(2)], 'web-b'));
  });
  const w = f.subscribe();
  await w.until('both pods', () => w.ids.join() === 'uid-1,uid-2');
  f.api.remove('endpointslices', 'shop', 'web-b', { silent: true });
  f.api.expire();
  await w.until('the relist to remove uid-2', () => w.ids.join() === 'uid-1');
  t.is(await metric(f, 'outrigger_hub_k8s_relists_total{resource="endpointslices"}'), 1);
});

test('/ready waits for the first list', async (t) => {
  let release: () => void = () => {};
  const f = await fixture(t, (api) => {
    api.upsert('endpointslices', webSlice([pod(1)]));
    release = api.holdLists();
  });
  t.is((await call({ url: f.addresses.http }, 'GET', '/ready')).status, 503);
  t.is(f.hub.registry.getInstance('uid-1'), undefined);
  release();
  await until('/ready to turn 200', async () => (await call({ url: f.addresses.http }, 'GET', '/ready')).status === 200);
  t.truthy(f.hub.registry.getInstance('uid-1'), 'ready means the listed endpoints are in');
});

test('merge: a self-registered sidecar of the same pod wins; when it deregisters the slice view comes back', async (t) => {
  const f = await fixture(t, (api) => api.upsert('endpointslices', webSlice([pod(1), pod(2)])));
  const w = f.subscribe();
  await w.until('both pods from the slice', () => w.ids.join() === 'uid-1,uid-2');

  // The sidecar of pod 1 registers with the pod UID (the injector's id) and reports what its checks see.
  const self = { id: 'uid-1', name: 'web', namespace: NS, address: '10.1.0.1', port: 8080, health: 'UNHEALTHY', ttl: '30s' };
  const r = await call({ url: f.addresses.http }, 'POST', '/api/v1/services', self);
  t.is(r.status, 200, 'it replaced the kubernetes instance');
  await w.until("the sidecar's health over xDS", () => health(w)['uid-1'] === 'UNHEALTHY');
  t.deepEqual(await f.rest(), { 'uid-1': ['UNHEALTHY', 'self'], 'uid-2': ['HEALTHY', 'kubernetes'] }, 'no duplicate; self wins');

  // A slice change (pod 2 goes not ready) reconciles the service; the self instance is left alone.
  f.api.upsert('endpointslices', webSlice([pod(1), pod(2, { ready: false, serving: false })]));
  await w.until('pod 2 not ready', () => health(w)['uid-2'] === 'UNHEALTHY');
  t.deepEqual(await f.rest(), { 'uid-1': ['UNHEALTHY', 'self'], 'uid-2': ['UNHEALTHY', 'kubernetes'] });

  // The sidecar deregisters while the pod is still in the slice: the kubernetes view comes back.
  t.is((await call({ url: f.addresses.http }, 'DELETE', '/api/v1/services/uid-1')).status, 200);
  await w.until('the kubernetes instance back', () => health(w)['uid-1'] === 'HEALTHY');
  t.deepEqual(await f.rest(), { 'uid-1': ['HEALTHY', 'kubernetes'], 'uid-2': ['UNHEALTHY', 'kubernetes'] });
});

test('merge: a sidecar that registered before the slice appeared is not duplicated, also when the slice has several ports', async (t) => {
  const f = await fixture(t);
  await f.hub.kubernetesSource!.whenSynced();
  const self = { id: 'uid-1', name: 'web', namespace: NS, address: '10.1.0.1', port: 8080, health: 'HEALTHY', ttl: '30s' };
  t.is((await call({ url: f.addresses.http }, 'POST', '/api/v1/services', self)).status, 201);
  const w = f.subscribe();
  f.api.upsert(
    'endpointslices',
    endpointSlice('shop', 'web-abc', 'web', [pod(1, { ready: false })], [{ name: 'http', port: 8080 }, { name: 'grpc-api', port: 9090 }]),
  );
  // The http port is the sidecar's (same address and port); the grpc port is the slice's.
  await w.until('the second port from the slice', () => w.ids.join() === 'uid-1,uid-1:grpc-api');
  t.deepEqual(await f.rest(), { 'uid-1': ['HEALTHY', 'self'], 'uid-1:grpc-api': ['UNHEALTHY', 'kubernetes'] });
  t.like(f.hub.registry.getInstance('uid-1:grpc-api'), { port: 9090, protocol: 'grpc' });
  t.is(f.hub.registry.getInstance('uid-1:http'), undefined, 'no second instance on the sidecar address and port');

  t.is((await call({ url: f.addresses.http }, 'DELETE', '/api/v1/services/uid-1')).status, 200);
  await w.until('the http port from the slice', () => w.ids.join() === 'uid-1:grpc-api,uid-1:http');
  t.is(f.hub.registry.getInstance('uid-1:http')?.source, 'kubernetes');
});

test('static instances are never replaced by the source nor by a registration', async (t) => {
  const api = await FakeKubeApi.start();
  api.upsert('endpointslices', webSlice([pod(1)]));
  const config = parseWith(hubConfigSchema, {
    bind: '127.0.0.1',
    grpc_port: 0,
    http_port: 0,
    dns: { listen: 'off' },
    auth: { enabled: false },
    kubernetes: { enabled: true },
    static_instances: [{ id: 'uid-1', service: 'web', namespace: NS, address: '10.9.9.9', port: 80 }],
  });
  const hub = new Hub(config, { kubeConfig: api.kubeConfig() });
  t.teardown(async () => {
    await hub.stop();
    await api.close();
  });
  const addresses = await hub.start();
  await hub.kubernetesSource!.whenSynced();
  t.like(hub.registry.getInstance('uid-1'), { source: 'static', address: '10.9.9.9' });
  const r = await call({ url: addresses.http }, 'POST', '/api/v1/services', { id: 'uid-1', name: 'web', namespace: NS, address: '10.1.0.1', port: 8080 });
  t.is(r.status, 409);
  t.is(r.json.error.code, 'failed_precondition');
  t.is(r.json.error.field, 'id');
  t.like(hub.registry.getInstance('uid-1'), { source: 'static', address: '10.9.9.9' });
});

test('bad kubernetes config is refused, naming the key', (t) => {
  const bad = (kubernetes: Record<string, unknown>, field: string) => {
    const err = t.throws(() => parseWith(hubConfigSchema, { kubernetes }, '', 'config_invalid'), { instanceOf: OutriggerError });
    t.is(err?.field, field);
    t.true(err?.message.startsWith(`${field}:`), err?.message);
  };
  bad({ namespace_suffix: 'Bad_Suffix' }, 'kubernetes.namespace_suffix');
  bad({ namespaces: ['shop', 'Shop'] }, 'kubernetes.namespaces[1]');
  bad({ namespaces: ['shop', 'shop'] }, 'kubernetes.namespaces');
  bad({ max_backoff: '10ms' }, 'kubernetes.max_backoff');
  bad({ enabled: 'yes' }, 'kubernetes.enabled');
  bad({ namespace: ['shop'] }, 'kubernetes.namespace');

  const fromEnv = t.throws(
    () => loadConfig(hubConfigSchema, { args: [], env: { OUTRIGGER_KUBERNETES__NAMESPACE_SUFFIX: 'Bad_Suffix' } }),
    { instanceOf: OutriggerError },
  );
  t.regex(fromEnv?.message ?? '', /^kubernetes\.namespace_suffix: .*OUTRIGGER_KUBERNETES__NAMESPACE_SUFFIX/);
  const defaults = parseWith(hubConfigSchema, {});
  t.deepEqual(defaults.kubernetes, { enabled: false, kubeconfig: '', namespaces: [], namespace_suffix: 'svc.cluster.local', max_backoff: 30_000 });
});

test('a kubeconfig that cannot be loaded fails the start, naming kubernetes.kubeconfig', async (t) => {
  const config = parseWith(hubConfigSchema, { bind: '127.0.0.1', grpc_port: 0, http_port: 0, dns: { listen: 'off' }, auth: { enabled: false }, kubernetes: { enabled: true, kubeconfig: 'no-such-dir/kubeconfig.yaml' } });
  const hub = new Hub(config);
  const err = await t.throwsAsync(hub.start(), { instanceOf: OutriggerError });
  t.is(err?.code, 'config_invalid');
  t.is(err?.field, 'kubernetes.kubeconfig');
});

async function metric(f: Fixture, series: string): Promise<number> {
  const text = (await call({ url: f.addresses.http }, 'GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
