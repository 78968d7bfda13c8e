import test from 'ava';
import type { Instance } from '../../src/registry/model.js';
import { WatchHistory, type InstanceChangeRecord } from '../../src/hub/watch-history.js';

const change = (version: number): InstanceChangeRecord => ({ kind: 'instance', op: 'upsert', version, instance: { id: `i${version}` } as Instance });

test('a resume gets exactly the changes after its version while they are all remembered', (t) => {
  const h = new WatchHistory(3, 10);
  t.deepEqual(h.since(10), []);
  h.record(change(11));
  h.advance(12); // a service change: moves the version, not an instance change
  h.record(change(13));
  t.deepEqual(h.since(10)?.map((c) => c.version), [11, 13]);
  t.deepEqual(h.since(12)?.map((c) => c.version), [13]);
  t.deepEqual(h.since(13), []);
  t.is(h.since(9), undefined, 'from before the hub started recording');
  t.is(h.since(14), undefined, 'from the future: another hub');
});

test('once a change falls out of the ring, resuming from before it needs a snapshot', (t) => {
  const h = new WatchHistory(2, 0);
  for (const v of [1, 2, 3, 4]) h.record(change(v));
  t.is(h.since(1), undefined);
  t.deepEqual(h.since(2)?.map((c) => c.version), [3, 4]);
});
