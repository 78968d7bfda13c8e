import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { metricValue, startGrpcHub } from '../helpers/grpc-hub.js';
import { WatchRecorder } from '../helpers/grpc-watch.js';

const LIMIT = 8;
/** Fewer changes per round than the limit, so a watcher that keeps reading never overflows. */
const PER_ROUND = 4;
/** Far more rounds than filling any flow-control window takes; the loop stops long before. */
const MAX_ROUNDS = 5_000;

test('a watcher that stops reading is ended with RESOURCE_EXHAUSTED instead of buffering; a reading one carries on', async (t) => {
  const hub = await startGrpcHub({ watchBufferLimit: LIMIT });
  t.teardown(() => hub.close());
  const reader = new WatchRecorder(hub.client.Watch({ service: 'echo' }));
  const stalled = new WatchRecorder(hub.newClient().Watch({ service: 'echo' }));
  await reader.until('the reader snapshot', (w) => w.snapshotComplete);
  await stalled.until('the stalled watcher snapshot', (w) => w.snapshotComplete);
  stalled.stopReading();

  // Big metadata makes each change a large message, so the stalled client's window fills fast.
  const metadata = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`k${i}`, 'x'.repeat(500)]));
  const watchers = () => metricValue(hub.metrics.subscribers, { api: 'watch' });
  let rounds = 0;
  while ((await watchers()) === 2) {
    if (++rounds > MAX_ROUNDS) throw new Error(`the stalled watcher was never cut off after ${MAX_ROUNDS} rounds`);
    for (let i = 0; i < PER_ROUND; i++) {
      hub.registry.register({ id: `i${i}`, service: 'echo', address: '10.0.0.1', port: 8080 + rounds, metadata });
    }
    const version = hub.registry.version;
    await reader.until(`the reader to reach ${version}`, (w) => w.lastVersion === version);
  }
  t.log(`cut off after ${rounds} rounds (${rounds * PER_ROUND} changes)`);
  t.is(await watchers(), 1, 'only the stalled watcher was ended');
  t.is(await metricValue(hub.metrics.requests, { api: 'grpc', route: 'Watch', code: 'RESOURCE_EXHAUSTED' }), 1);

  // Once it reads again, the client learns why, after what was already on its way.
  stalled.resumeReading();
  const err = await stalled.ends();
  t.is(err?.code, grpc.status.RESOURCE_EXHAUSTED);
  t.regex(err?.details ?? '', /watch again/);
  t.true(stalled.changeVersions.length < rounds * PER_ROUND, 'the backlog was dropped, not delivered');

  // The reader is unaffected.
  const last = hub.registry.register({ id: 'after', service: 'echo', address: '10.0.0.1', port: 1 });
  await reader.until('the reader to see a later change', (w) => w.lastVersion === last.revision);
  t.false(reader.ended);
  await reader.until('the reader state', (w) => !w.ended && w.state.has('after'));
});
