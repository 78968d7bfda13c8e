/**
 * A 3-member etcd losing its quorum under two registry replicas: reads go on from the snapshot,
 * writes are refused with store_unavailable; once the members are back, writes resume and both
 * replicas converge on the same revision with no duplicate.
 */
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { OutriggerError } from '../../src/common/errors.js';
import { EtcdStore } from '../../src/registry/etcd-store.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { newRegistry } from '../helpers/registry.js';
import { until } from '../helpers/wait.js';

const echo = (id: string) => ({ id, service: 'echo', namespace: 'demo.local', address: '127.0.0.1', port: 5000 });

test('quorum lost: writes 503 store_unavailable and reads go on; quorum back: writes resume at once, replicas converge, and a replica leads again', async (t) => {
  const etcd = await EtcdCluster.start(3);
  t.teardown(() => etcd.close());
  const prefix = `/outrigger-test/${randomUUID()}`;
  const open = async () => {
    const registry = newRegistry({ store: new EtcdStore({ endpoints: etcd.endpoints, prefix, probeIntervalMs: 200, writeTimeoutMs: 3000, leaseTtlSeconds: 2 }) });
    await registry.load();
    t.teardown(() => registry.store.close());
    return registry;
  };
  const a = await open();
  const b = await open();
  await a.write(() => a.register(echo('before')));
  await until('replica B to see it', () => b.getInstance('before') !== undefined);

  await etcd.stop(1);
  await etcd.stop(2);
  await until('both replicas to mark their snapshot stale', () => a.store.stale && b.store.stale, 20_000);
  const err = await t.throwsAsync(a.write(() => a.register(echo('during'))), { instanceOf: OutriggerError });
  t.is(err.code, 'store_unavailable');
  t.is(err.httpStatus, 503);
  t.is(a.getInstance('during'), undefined, 'a refused write changes nothing');
  t.is(b.getInstance('before')?.health, 'HEALTHY', 'reads go on from the snapshot');
  t.false(a.store.leader || b.store.leader, 'nobody sweeps leases from a stale snapshot');

  etcd.restart(1);
  etcd.restart(2);
  await etcd.healthy();
  await until('both replicas to hear from etcd again', () => !a.store.stale && !b.store.stale, 60_000);
  // Not stale means writes are taken: the probe goes through the same circuits as writes.
  await a.write(() => a.register(echo('after-a')));
  await b.write(() => b.register(echo('after-b')));
  await until('both replicas to converge on one revision', () => a.version === b.version && a.instanceCount === 3 && b.instanceCount === 3, 60_000);
  const ids = a.discover({ service: 'echo' }).map((i) => i.id);
  t.deepEqual(ids, ['after-a', 'after-b', 'before']);
  t.deepEqual(b.discover({ service: 'echo' }).map((i) => i.id), ids);

  // A replica leads again, and leadership moves when it closes. (The leader closes first: a
  // replica whose etcd client closes while its campaign still waits for the leader's key leaves
  // etcd3 re-attaching that watch for ever, which keeps a process from exiting.)
  await until('a replica to lead again', () => a.store.leader || b.store.leader, 30_000);
  const [leader, other] = a.store.leader ? [a, b] : [b, a];
  await leader.store.close();
  await until('the other replica to lead', () => other.store.leader, 30_000);
});
