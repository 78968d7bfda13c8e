/**
 * One member of a 3-member etcd SIGKILLed under two `outrigger hub` processes: nothing a user of
 * the hubs sees changes. The member killed is etcd's raft leader, the hardest case: the members
 * elect a new leader, a transaction a follower had forwarded to the dead leader is dropped (etcd
 * answers it only at its own request timeout), and every stream on the dead member (watches,
 * lease keep-alives) drops; a follower's loss drops only the streams and calls bound to it.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { createRegistryClient } from '../../src/wire/registry-client.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { WatchRecorder } from '../helpers/grpc-watch.js';
import { startHubProcess, type HubProcess } from '../helpers/hub-process.js';
import { until } from '../helpers/wait.js';

async function rest(hub: HubProcess, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${hub.http}${path}`, {
    method,
    headers: { authorization: `Bearer ${hub.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, text: await res.text() };
}

const instance = (id: string, port: number) => ({ id, service: 'echo', namespace: 'demo.local', address: '10.0.0.1', port, ttl: '30s' });

test('SIGKILL the etcd leader of three under two hub replicas: no write is refused, /ready never says stale, a subscriber loses no instance', async (t) => {
  const etcd = await EtcdCluster.start(3);
  t.teardown(() => etcd.close());
  const args = ['--store.kind', 'etcd', '--store.endpoints', `[${etcd.endpoints.join(',')}]`, '--store.prefix', `/outrigger-test/${randomUUID()}`];
  const a = await startHubProcess({ args });
  // One data dir for both, so the bootstrap token is valid on each.
  const b = await startHubProcess({ args, dataDir: a.dataDir });
  t.teardown(() => {
    for (const h of [a, b]) h.proc.child.kill('SIGKILL');
  });
  const owned = new Map<HubProcess, string[]>([[a, ['a-0', 'a-1']], [b, ['b-0', 'b-1']]]);
  const ids = [...owned.values()].flat();
  for (const [hub, mine] of owned) for (const [i, id] of mine.entries()) t.is((await rest(hub, 'POST', '/api/v1/services', instance(id, 8080 + i))).status, 201);

  // The subscriber: a Watch on replica B, checked after every event it applies.
  const client = createRegistryClient(b.grpc);
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${b.token}`);
  const call = client.Watch({ namespace: 'demo.local' }, metadata);
  t.teardown(() => {
    call.cancel();
    client.close();
  });
  const watch = new WatchRecorder(call);
  await watch.until('the snapshot with every instance', (w) => w.snapshotComplete && w.state.size === ids.length);
  const lapses: string[] = [];
  call.on('data', () => {
    const missing = ids.filter((id) => watch.state.get(id)?.health !== 'HEALTHY');
    if (missing.length > 0) lapses.push(`the subscriber lost ${missing.join(', ')}`);
  });

  // Steady writes through both replicas (re-registrations and heartbeats, the renewals sidecars
  // make), and /ready on both, until told to stop.
  let running = true;
  const refused: string[] = [];
  const stale: string[] = [];
  const writes = new Map<HubProcess, number>([[a, 0], [b, 0]]);
  const readies = new Map<HubProcess, number>([[a, 0], [b, 0]]);
  const writer = async (hub: HubProcess): Promise<void> => {
    const mine = owned.get(hub)!;
    for (let n = 0; running; n++) {
      const id = mine[n % mine.length]!;
      const res = n % 3 === 0
        ? await rest(hub, 'POST', '/api/v1/services', instance(id, 8080 + mine.indexOf(id)))
        : await rest(hub, 'POST', `/api/v1/services/${id}/heartbeat`, {});
      if (res.status >= 300) refused.push(`${id} through ${hub.http}: ${res.status} ${res.text}`);
      writes.set(hub, writes.get(hub)! + 1);
    }
  };
  const readiness = async (hub: HubProcess): Promise<void> => {
    while (running) {
      const res = await rest(hub, 'GET', '/ready');
      const body = JSON.parse(res.text) as { store?: { stale?: boolean } };
      if (res.status !== 200 || body.store?.stale !== false) stale.push(`${hub.http}: ${res.status} ${res.text}`);
      readies.set(hub, readies.get(hub)! + 1);
    }
  };
  const loops = [writer(a), writer(b), readiness(a), readiness(b)];
  const past = (counts: Map<HubProcess, number>, more: number): (() => boolean) => {
    const from = new Map(counts);
    return () => [...counts].every(([hub, n]) => n >= from.get(hub)! + more);
  };
  try {
    await until('steady writes through both replicas', past(writes, 5));
    const leader = await etcd.leader();
    await etcd.stop(leader);
    // Past the etcd election and a dropped transaction's retry, on both replicas.
    const afterKill = [past(writes, 30), past(readies, 30)];
    await until('writes and /ready to go on through both replicas after the kill', () => afterKill.every((done) => done()), 30_000);
  } finally {
    running = false;
    await Promise.all(loops);
  }
  t.deepEqual(refused, [], 'no write was refused');
  t.deepEqual(stale, [], '/ready never said stale');

  // The subscriber's watch carries on: a registration through replica A after the kill reaches it.
  t.is((await rest(a, 'POST', '/api/v1/services', instance('a-2', 8082))).status, 201);
  await watch.until('the subscriber to see the registration made after the kill', (w) => w.state.get('a-2')?.health === 'HEALTHY');
  t.deepEqual(lapses, [], 'no instance left the subscriber\'s view');
});
