import test from 'ava';
import { AdsClient } from '../../src/xds/client/ads-client.js';
import { packAny } from '../../src/xds/envoy-protos.js';
import { CLUSTER_MESSAGE } from '../../src/xds/resources/cluster-encode.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '../../src/xds/type-urls.js';
import { assignmentAny, clusterAny, FakeAdsHub, type FakeHubRequest } from '../helpers/ads-client-fake-hub.js';
import { RecordingWatcher } from '../helpers/ads-client-watcher.js';

interface Setup {
  fake: FakeAdsHub;
  client: AdsClient;
}

async function setup(t: { teardown(fn: () => void): void }): Promise<Setup> {
  const fake = await FakeAdsHub.start();
  const client = new AdsClient({
    hubs: [fake.address],
    node: { id: 'nack-node', cluster: 'caller.demo.local', locality: { region: 'r1', zone: 'z1' } },
    backoff: { initialMs: 20, maxMs: 100 },
  });
  t.teardown(() => {
    client.stop();
    fake.close();
  });
  return { fake, client };
}

/** Reads the next request and checks it is the ACK (or NACK) of `nonce`. */
async function answerTo(fake: FakeAdsHub, typeUrl: string, nonce: string): Promise<FakeHubRequest> {
  const r = await fake.nextRequest();
  if (r.type_url !== typeUrl || r.response_nonce !== nonce) throw new Error(`expected the answer to ${nonce} on ${typeUrl}, got ${JSON.stringify(r)}`);
  return r;
}

test('an invalid assignment is NACKed naming the resource; the last good endpoints stay; the next good one is accepted', async (t) => {
  const { fake, client } = await setup(t);
  const w = new RecordingWatcher();
  client.watch('api.demo.local', w);
  client.start();

  const cds = await fake.nextRequest();
  t.is(cds.type_url, CLUSTER_TYPE_URL);
  t.deepEqual(cds.resource_names, ['api.demo.local']);
  t.is(cds.response_nonce, '');
  t.like(cds.node, { id: 'nack-node', cluster: 'caller.demo.local', locality: { region: 'r1', zone: 'z1', sub_zone: '' }, user_agent_name: 'outrigger-sidecar' });
  const eds = await fake.nextRequest();
  t.is(eds.type_url, ENDPOINT_TYPE_URL);
  t.deepEqual(eds.resource_names, ['api.demo.local']);
  t.is(eds.node, null, 'the node is sent once per stream');

  const n1 = fake.send(CLUSTER_TYPE_URL, 'c1', [clusterAny('api', 'demo.local')]);
  t.like(await answerTo(fake, CLUSTER_TYPE_URL, n1), { version_info: 'c1', error_detail: null });
  const good = [
    { address: '10.0.0.1', port: 80, id: 'a' },
    { address: '10.0.0.2', port: 80, id: 'b' },
  ];
  const n2 = fake.send(ENDPOINT_TYPE_URL, 'e1', [assignmentAny('api.demo.local', good)]);
  t.like(await answerTo(fake, ENDPOINT_TYPE_URL, n2), { version_info: 'e1', error_detail: null });
  await w.until('the good endpoints', () => w.ids.join() === 'a,b');

  const n3 = fake.send(ENDPOINT_TYPE_URL, 'e2', [
    assignmentAny('api.demo.local', [
      { address: '10.0.0.1', port: 80, id: 'a' },
      { address: '10.0.0.1', port: 80, id: 'c' },
    ]),
  ]);
  const nack = await answerTo(fake, ENDPOINT_TYPE_URL, n3);
  t.is(nack.version_info, 'e1', 'the NACK names the version kept');
  t.deepEqual(nack.resource_names, ['api.demo.local']);
  t.is(nack.error_detail?.code, 3);
  t.regex(nack.error_detail?.message ?? '', /^rejected ClusterLoadAssignment version e2: ClusterLoadAssignment api\.demo\.local: endpoints\[0\]\.lb_endpoints\[1\]: duplicate address 10\.0\.0\.1:80/);
  await w.until('the watcher error', () => w.errors.length === 1);
  t.like(w.errors[0], { name: 'api.demo.local', typeUrl: ENDPOINT_TYPE_URL, version: 'e2' });
  t.deepEqual(w.ids, ['a', 'b'], 'the last good endpoints are kept');
  t.is(w.endpoints.length, 1);
  const stats = client.stats();
  t.deepEqual(stats.nacks, { cds: 0, eds: 1 });
  t.is(stats.versions.eds, 'e1');
  t.like(stats.last_nack, { type: 'eds', version: 'e2', nonce: n3 });

  const n4 = fake.send(ENDPOINT_TYPE_URL, 'e3', [assignmentAny('api.demo.local', [{ address: '10.0.0.3', port: 80, id: 'c' }])]);
  t.like(await answerTo(fake, ENDPOINT_TYPE_URL, n4), { version_info: 'e3', error_detail: null });
  await w.until('the next good endpoints', () => w.ids.join() === 'c');
  t.is(client.stats().versions.eds, 'e3');
});

test('a NACKed CDS response changes none of its clusters, not even the valid ones', async (t) => {
  const { fake, client } = await setup(t);
  const a = new RecordingWatcher();
  const b = new RecordingWatcher();
  client.watch('a.demo.local', a);
  client.watch('b.demo.local', b);
  client.start();
  await fake.nextRequest();
  await fake.nextRequest();
  const n1 = fake.send(CLUSTER_TYPE_URL, 'c1', [clusterAny('a', 'demo.local'), clusterAny('b', 'demo.local')]);
  await answerTo(fake, CLUSTER_TYPE_URL, n1);
  await a.until('a', () => a.cluster !== undefined);
  await b.until('b', () => b.cluster !== undefined);

  const n2 = fake.send(CLUSTER_TYPE_URL, 'c2', [
    clusterAny('a', 'demo.local', { lb_policy: 'least_request' }),
    packAny(CLUSTER_MESSAGE, { name: 'b.demo.local', type: 'STATIC' }),
  ]);
  const nack = await answerTo(fake, CLUSTER_TYPE_URL, n2);
  t.is(nack.version_info, 'c1');
  t.regex(nack.error_detail?.message ?? '', /Cluster b\.demo\.local: type: only EDS clusters are supported, got STATIC/);
  await b.until("b's error", () => b.errors.length === 1);
  t.is(a.clusters.length, 1, 'the valid cluster of a rejected response is not applied');
  t.is(a.cluster!.config.lb_policy, 'round_robin');
  t.is(a.errors.length, 0);
  t.is(a.absent + b.absent, 0, 'nothing is deleted by a rejected response');

  const n3 = fake.send(CLUSTER_TYPE_URL, 'c3', [clusterAny('a', 'demo.local', { lb_policy: 'least_request' }), clusterAny('b', 'demo.local')]);
  t.like(await answerTo(fake, CLUSTER_TYPE_URL, n3), { version_info: 'c3', error_detail: null });
  await a.until('the accepted change', () => a.cluster?.config.lb_policy === 'least_request');
  t.is(b.clusters.length, 1, 'b is unchanged, so not notified');
});

test('a new stream re-subscribes with the versions held; the same state sent again notifies nobody', async (t) => {
  const { fake, client } = await setup(t);
  const w = new RecordingWatcher();
  client.watch('api.demo.local', w);
  client.start();
  await fake.nextRequest();
  await fake.nextRequest();
  const resend = (): void => {
    fake.send(CLUSTER_TYPE_URL, 'c1', [clusterAny('api', 'demo.local')]);
    fake.send(ENDPOINT_TYPE_URL, 'e1', [assignmentAny('api.demo.local', [{ address: '10.0.0.1', port: 80, id: 'a' }])]);
  };
  resend();
  await w.until('the first state', () => w.cluster !== undefined && w.ids.join() === 'a');
  await fake.nextRequest();
  await fake.nextRequest();
  t.true(client.inSync);

  const states: Array<[string, boolean]> = [];
  client.on('state', (s, inSync) => states.push([s, inSync]));
  fake.dropStream();
  const cds = await fake.nextRequest();
  const eds = await fake.nextRequest();
  t.is(fake.streams, 2);
  t.like(cds, { type_url: CLUSTER_TYPE_URL, version_info: 'c1', response_nonce: '', resource_names: ['api.demo.local'] });
  t.is(cds.node?.id, 'nack-node', 'a new stream sends the node again');
  t.like(eds, { type_url: ENDPOINT_TYPE_URL, version_info: 'e1', response_nonce: '', resource_names: ['api.demo.local'] });
  t.deepEqual(states[0], ['backoff', false]);

  resend();
  await fake.nextRequest();
  await fake.nextRequest();
  t.true(client.inSync);
  t.is(w.clusters.length, 1);
  t.is(w.endpoints.length, 1);
  t.is(client.stats().reconnects, 1);
});

test('a hub that does not serve delta xDS (UNIMPLEMENTED) is spoken to in state of the world at once: no backoff, not a reconnect', async (t) => {
  const { fake, client } = await setup(t);
  const states: string[] = [];
  client.on('state', (s) => states.push(s));
  client.watch('api.demo.local', new RecordingWatcher());
  client.start();
  const cds = await fake.nextRequest();
  t.like(cds, { type_url: CLUSTER_TYPE_URL, response_nonce: '', resource_names: ['api.demo.local'] });
  t.is(fake.streams, 1, 'the state-of-the-world stream is the first the fake hub sees');
  t.false(states.includes('backoff'));
  t.is(client.stats().reconnects, 0);
});
