import test from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import { ENDPOINT_TYPE_URL } from '../../src/xds/type-urls.js';
import { until } from '../helpers/wait.js';
import { AdsTestStream } from '../helpers/xds-ads-client.js';
import { registerInstance, startXdsHub } from '../helpers/xds-hub.js';

const COALESCE_MS = 10;
const API = 'api.demo.local';

test('two streams that share one encoding get the same bytes, yet keep independent nonces and ACK/NACK state', async (t) => {
  const clock = new ManualClock();
  const hub = await startXdsHub({ clock, coalesceMs: COALESCE_MS });
  const a = AdsTestStream.open(hub.address, 'node-a');
  const b = AdsTestStream.open(hub.address, 'node-b');
  t.teardown(async () => {
    a.closeClient();
    b.closeClient();
    await hub.close();
  });
  const info = (node: string) => hub.ads.describeStreams().find((s) => s.node === node)?.types.find((ty) => ty.type_url === ENDPOINT_TYPE_URL);
  registerInstance(hub.registry, { id: 'api-1', service: 'api', address: '10.0.0.1', port: 80 });
  registerInstance(hub.registry, { id: 'web-1', service: 'web', address: '10.0.0.9', port: 80 });
  clock.advance(COALESCE_MS);

  const encodedBefore = hub.ads.stats.encodedBodies;
  a.request(ENDPOINT_TYPE_URL, [API]);
  const a1 = await a.next();
  b.request(ENDPOINT_TYPE_URL, [API]);
  const b1 = await b.next();
  t.is(hub.ads.stats.encodedBodies, encodedBefore + 1, 'one encoding served both streams');
  t.is(a1.nonce, b1.nonce, 'the shared response carries one nonce');
  t.is(a1.version_info, b1.version_info);

  // A ACKs, B NACKs the same response: each stream keeps its own state.
  a.ack(a1, [API]);
  b.nack(b1, [API], '', 'endpoint rejected');
  await until('the ACK and the NACK', () => info('node-a')?.acked_version === a1.version_info && info('node-b')?.nack !== undefined);
  t.is(info('node-a')!.nack, undefined);
  t.is(info('node-b')!.acked_version, undefined, 'B has accepted nothing');
  t.deepEqual(info('node-b')!.nack, { version: b1.version_info, nonce: b1.nonce, message: 'endpoint rejected' });

  // A change: both get the new shared response, under a nonce neither has seen.
  registerInstance(hub.registry, { id: 'api-2', service: 'api', address: '10.0.0.2', port: 80 });
  clock.advance(COALESCE_MS);
  const a2 = await a.next();
  const b2 = await b.next();
  t.is(hub.ads.stats.encodedBodies, encodedBefore + 2);
  t.is(a2.nonce, b2.nonce);
  t.not(a2.nonce, a1.nonce);

  // B answering the old nonce is stale: its subscription change is ignored.
  b.request(ENDPOINT_TYPE_URL, [API, 'web.demo.local'], { nonce: b1.nonce, version: '' });
  // A subscribes to a second service on the same version: a different response, so a different nonce.
  a.request(ENDPOINT_TYPE_URL, [API, 'web.demo.local'], { nonce: a2.nonce, version: a2.version_info });
  const a3 = await a.next();
  t.deepEqual(a3.names, ['web.demo.local']);
  t.is(a3.version_info, a2.version_info);
  t.not(a3.nonce, a2.nonce, 'same version, different resources: a different nonce on the stream');
  t.not(a3.nonce, a1.nonce);
  t.deepEqual(info('node-b')!.names, [API], 'the stale request of B changed nothing');

  // ACKs of the current nonce are taken per stream; B's clears its NACK.
  a.ack(a3, [API, 'web.demo.local']);
  b.ack(b2, [API]);
  await until('both ACKs', () => info('node-a')?.acked_version === a3.version_info && info('node-b')?.acked_version === b2.version_info);
  t.is(info('node-b')!.nack, undefined);
  t.deepEqual(info('node-a')!.names, [API, 'web.demo.local']);
  t.is(a.unread + b.unread, 0, 'an ACK of the current response is not answered');
});
