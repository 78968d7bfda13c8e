/**
 * The Kubernetes source with hub replicas over a real etcd: only the replica that wins the
 * election lists and watches the API and writes the endpoints into the shared store; when it
 * stops, the next one takes the source over and carries on from what the store holds.
 */
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { hubConfigSchema } from '../../../src/config/hub-config.js';
import { Hub, type HubAddresses } from '../../../src/hub/hub.js';
import { parseWith } from '../../../src/model/parse-input.js';
import { EtcdCluster } from '../../helpers/etcd-cluster.js';
import { call } from '../../helpers/http-rest-server.js';
import { eventually, until } from '../../helpers/wait.js';
import { FakeKubeApi, endpointSlice, kubeService, type SliceEndpoint } from '../helpers/fake-kube-api.js';

const NS = 'shop.svc.cluster.local';
const pod = (n: number): SliceEndpoint => ({ ip: `10.1.0.${n}`, pod: { name: `web-${n}`, uid: `uid-${n}` }, node: 'node-a', zone: 'zone-a' });
const webSlice = (endpoints: SliceEndpoint[]) => endpointSlice('shop', 'web-abc', 'web', endpoints);

/** A replica's REST view of web.shop: id → source. */
async function view(addresses: HubAddresses): Promise<Record<string, string>> {
  const r = await call({ url: addresses.http }, 'GET', `/api/v1/services?namespace=${NS}&service_name=web`);
  if (r.status !== 200) return {};
  return Object.fromEntries((r.json.data.services as Array<{ id: string; source: string }>).map((s) => [s.id, s.source]));
}

test('only the elected replica runs the Kubernetes source; when it stops, another takes it over', async (t) => {
  const etcd = await EtcdCluster.start(1);
  const api = await FakeKubeApi.start();
  api.upsert('services', kubeService('shop', 'web'));
  api.upsert('endpointslices', webSlice([pod(1)]));
  const config = parseWith(hubConfigSchema, {
    bind: '127.0.0.1',
    grpc_port: 0,
    http_port: 0,
    dns: { listen: 'off' },
    // These tests are about the source; auth has tests of its own.
    auth: { enabled: false },
    kubernetes: { enabled: true, kubeconfig: api.writeKubeconfig(), max_backoff: '2s' },
    store: { kind: 'etcd', endpoints: etcd.endpoints, prefix: `/outrigger-test/${randomUUID()}`, lease_ttl: '2s' },
  });
  const hubs = [new Hub(config), new Hub(config)];
  t.teardown(async () => {
    await Promise.all(hubs.map((h) => h.stop()));
    await api.close();
    await etcd.close();
  });
  const addresses = await Promise.all(hubs.map((h) => h.start()));

  await until('one replica elected, and the pod on both replicas as a Kubernetes instance', async () => {
    if (hubs.filter((h) => h.registry.store.leader).length !== 1) return false;
    for (const a of addresses) if ((await view(a))['uid-1'] !== 'kubernetes') return false;
    return true;
  }, 20_000);
  t.is(api.openWatches('endpointslices'), 1, 'one replica watches the slices');
  t.is(api.listRequests('endpointslices').length, 1, 'one replica listed them');
  for (const a of addresses) t.is((await call({ url: a.http }, 'GET', '/ready')).status, 200, 'the replica that does not run the source is ready too');

  const leading = hubs.findIndex((h) => h.registry.store.leader);
  const other = hubs[1 - leading]!;
  await hubs[leading]!.stop();
  await until('the other replica to lead and watch the slices', () => other.registry.store.leader && api.openWatches('endpointslices') === 1, 20_000);
  t.is(api.listRequests('endpointslices').length, 2, 'it listed them when it took over');

  // The pod is replaced: the new leader's source removes what the old one wrote and adds the new pod.
  api.upsert('endpointslices', webSlice([pod(2)]));
  const after = await eventually('the new pod, and the old one gone, on the surviving replica', async () => {
    const v = await view(addresses[1 - leading]!);
    return v['uid-1'] === undefined ? v : undefined;
  }, 20_000);
  t.deepEqual(after, { 'uid-2': 'kubernetes' });
});
