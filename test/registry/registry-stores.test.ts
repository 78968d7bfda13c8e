/**
 * The registry's behaviour through its write path, the same suite run over the memory store and
 * over a real etcd: every write goes through `registry.write`, as the hub's surfaces do.
 */
import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { OutriggerError, type ErrorCode } from '../../src/common/errors.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { EtcdStore } from '../../src/registry/etcd-store.js';
import type { RegistryChange } from '../../src/registry/model.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { newRegistry } from '../helpers/registry.js';
import { until } from '../helpers/wait.js';

let etcd: EtcdCluster | undefined;
test.before(async () => {
  etcd = await EtcdCluster.start(1);
});
test.after.always(async () => {
  await etcd?.close();
});

type Kind = 'memory' | 'etcd';

/** A registry over the given store; registries of one `prefix` share etcd's records. */
async function open(t: ExecutionContext, kind: Kind, prefix = `/outrigger-test/${randomUUID()}`) {
  const clock = new ManualClock();
  const store = kind === 'etcd' ? new EtcdStore({ endpoints: etcd!.endpoints, prefix }) : undefined;
  const registry = newRegistry({ clock, ...(store !== undefined ? { store } : {}) });
  await registry.load();
  t.teardown(() => registry.store.close());
  const changes: RegistryChange[] = [];
  registry.subscribe((c) => changes.push(c));
  return { clock, registry, changes, prefix };
}

const echo = (id: string, extra: Record<string, unknown> = {}) => ({ id, service: 'echo', namespace: 'demo.local', address: '127.0.0.1', port: 5000, ...extra });

async function refused(t: ExecutionContext, write: Promise<unknown>, code: ErrorCode): Promise<OutriggerError> {
  const err = await t.throwsAsync(write, { instanceOf: OutriggerError });
  t.is(err.code, code);
  return err;
}

for (const kind of ['memory', 'etcd'] as const) {
  test(`${kind}: a registration creates the namespace and service, and changes come in order with rising versions`, async (t) => {
    const { registry, changes } = await open(t, kind);
    const inst = await registry.write(() => registry.register(echo('a')));
    t.is(inst.health, 'HEALTHY');
    t.is(registry.getInstance('a')?.revision, inst.revision, 'the write resolves with the record as the snapshot holds it');
    t.truthy(registry.getNamespace('demo.local'));
    t.is(registry.getService('demo.local', 'echo')?.config.lb_policy, 'round_robin');
    t.deepEqual(changes.map((c) => `${c.kind}:${c.op}`), ['namespace:upsert', 'service:upsert', 'instance:upsert']);
    t.is(registry.version, inst.revision);
    const again = await registry.write(() => registry.register(echo('a', { port: 5001 })));
    t.true(again.revision > inst.revision);
    t.is(registry.version, again.revision);
  });

  test(`${kind}: re-registering the same id replaces it, never duplicates`, async (t) => {
    const { registry } = await open(t, kind);
    await registry.write(() => registry.register(echo('a', { metadata: { v: '1' } })));
    await registry.write(() => registry.register(echo('a', { metadata: { v: '2' } })));
    const all = registry.discover({ service: 'echo' });
    t.is(all.length, 1);
    t.is(all[0]!.metadata.v, '2');
    t.is(registry.instanceCount, 1);
  });

  test(`${kind}: moving an instance to another service takes it out of the first`, async (t) => {
    const { registry } = await open(t, kind);
    await registry.write(() => registry.register(echo('a')));
    await registry.write(() => registry.register(echo('a', { service: 'other' })));
    t.deepEqual(registry.instancesOf('demo.local', 'echo'), []);
    t.is(registry.instancesOf('demo.local', 'other').length, 1);
  });

  test(`${kind}: heartbeat, reported health and deregistration`, async (t) => {
    const { registry, changes } = await open(t, kind);
    await registry.write(() => registry.register(echo('a')));
    const before = changes.length;
    await registry.write(() => registry.heartbeat('a'));
    t.is(changes.length, before, 'a plain heartbeat is lease bookkeeping, not broadcast');
    const drained = await registry.write(() => registry.reportHealth('a', 'DRAINING'));
    t.is(drained.health, 'DRAINING');
    t.is(registry.getInstance('a')?.health, 'DRAINING');
    await registry.write(() => registry.deregister('a'));
    t.is(registry.getInstance('a'), undefined);
    t.is(changes.at(-1)?.op, 'remove');
    await refused(t, registry.write(() => registry.deregister('a')), 'not_found');
  });

  test(`${kind}: deleting a service with live instances or a namespace with services is refused`, async (t) => {
    const { registry } = await open(t, kind);
    await registry.write(() => registry.register(echo('a')));
    await refused(t, registry.write(() => registry.deleteService('demo.local', 'echo')), 'failed_precondition');
    await refused(t, registry.write(() => registry.deleteNamespace('demo.local')), 'failed_precondition');
    t.truthy(registry.getService('demo.local', 'echo'), 'a refused delete changes nothing');
    await registry.write(() => registry.deregister('a'));
    await registry.write(() => registry.deleteService('demo.local', 'echo'));
    await registry.write(() => registry.deleteNamespace('demo.local'));
    t.deepEqual(registry.listNamespaces(), []);
  });

  test(`${kind}: a registration cannot take over a static instance`, async (t) => {
    const { registry } = await open(t, kind);
    await registry.write(() => registry.register(echo('s', { source: 'static' })));
    const err = await refused(t, registry.write(() => registry.register(echo('s', { port: 6000 }))), 'failed_precondition');
    t.is(err.field, 'id');
    t.is(registry.getInstance('s')?.port, 5000);
    t.is(registry.getInstance('s')?.source, 'static');
  });

  test(`${kind}: service config is validated, and a bad one changes nothing`, async (t) => {
    const { registry } = await open(t, kind);
    const svc = await registry.write(() => registry.putService('demo.local', 'echo', { lb_policy: 'least_request' }));
    t.is(svc.config.lb_policy, 'least_request');
    const err = await refused(t, registry.write(() => registry.putService('demo.local', 'echo', { outlier_detection: { max_ejection_percent: 150 } })), 'invalid_argument');
    t.is(err.field, 'config.outlier_detection.max_ejection_percent');
    t.is(registry.getService('demo.local', 'echo')?.config.lb_policy, 'least_request');
    await refused(t, registry.write(() => registry.createNamespace({ name: 'demo.local' })), 'already_exists');
  });

  test(`${kind}: a lease that stops renewing goes UNHEALTHY, then is removed`, async (t) => {
    const { clock, registry } = await open(t, kind);
    await registry.write(() => registry.register(echo('a', { ttl: '5s', deregister_critical_after: '10s' })));
    clock.advance(6000);
    await registry.write(() => registry.sweep());
    t.is(registry.getInstance('a')?.health, 'UNHEALTHY');
    clock.advance(10_000);
    await registry.write(() => registry.sweep());
    t.is(registry.getInstance('a'), undefined);
  });
}

test('etcd: a write through one replica reaches the other replica\'s snapshot and subscribers', async (t) => {
  const a = await open(t, 'etcd');
  const b = await open(t, 'etcd', a.prefix);
  const inst = await a.registry.write(() => a.registry.register(echo('x')));
  await until('replica B to see the instance', () => b.registry.getInstance('x') !== undefined);
  t.is(b.registry.getInstance('x')?.revision, inst.revision, 'the same revision on both replicas');
  t.true(b.changes.some((c) => c.kind === 'instance' && c.instance.id === 'x'));
  await until('replica B to reach the revision', () => b.registry.version >= inst.revision);
  // A replica started later loads the same records at the same revision.
  const c = await open(t, 'etcd', a.prefix);
  t.is(c.registry.getInstance('x')?.revision, inst.revision);
});

test('etcd: two replicas writing the same instance at once: one wins, no duplicate, no lost field', async (t) => {
  const a = await open(t, 'etcd');
  const b = await open(t, 'etcd', a.prefix);
  for (let round = 0; round < 5; round++) {
    const id = `same-${round}`;
    const fromA = echo(id, { port: 7001, version: 'a', metadata: { writer: 'a' } });
    const fromB = echo(id, { port: 7002, version: 'b', metadata: { writer: 'b' } });
    const [ra, rb] = await Promise.all([a.registry.write(() => a.registry.register(fromA)), b.registry.write(() => b.registry.register(fromB))]);
    t.is(ra.metadata.writer, 'a');
    t.is(rb.metadata.writer, 'b');
    await until('both replicas to agree', () => a.registry.getInstance(id)?.revision === b.registry.getInstance(id)?.revision);
    const final = a.registry.getInstance(id)!;
    // Whichever won, the record is all of one write: no field of the other mixed in.
    const writer = final.metadata.writer;
    t.is(final.port, writer === 'a' ? 7001 : 7002);
    t.is(final.version, writer ?? 'none');
    t.is(a.registry.discover({ service: 'echo' }).filter((i) => i.id === id).length, 1, 'no duplicate');
  }
  t.is(a.registry.instanceCount, 5);
  t.is(b.registry.instanceCount, 5);
});

test('etcd: concurrent updates of one instance on two replicas are both kept (a heartbeat and a drain)', async (t) => {
  const a = await open(t, 'etcd');
  const b = await open(t, 'etcd', a.prefix);
  for (let round = 0; round < 5; round++) {
    const id = `m-${round}`;
    await a.registry.write(() => a.registry.register(echo(id, { ttl: '30s' })));
    await until('replica B to see it', () => b.registry.getInstance(id) !== undefined);
    a.clock.advance(1000);
    const renewedAt = a.clock.now();
    // Each write changes one field of the record it read; without the mod_revision compare, the
    // later one would put back the other's old value.
    await Promise.all([a.registry.write(() => a.registry.heartbeat(id)), b.registry.write(() => b.registry.reportHealth(id, 'DRAINING'))]);
    await until('both replicas to agree', () => a.registry.getInstance(id)?.health === 'DRAINING' && b.registry.getInstance(id)?.lease.renewedAt === renewedAt);
    for (const r of [a.registry, b.registry]) {
      const final = r.getInstance(id)!;
      t.is(final.health, 'DRAINING', 'the drain is kept');
      t.is(final.lease.renewedAt, renewedAt, 'the heartbeat is kept');
    }
  }
});

test('etcd: a write of more records than one etcd transaction takes (a batch, then a sweep expiring them all) is committed in parts, none lost', async (t) => {
  const clock = new ManualClock();
  const prefix = `/outrigger-test/${randomUUID()}`;
  const opts = { clock, selfPreservation: { enabled: false } } as const;
  const a = newRegistry({ ...opts, store: new EtcdStore({ endpoints: etcd!.endpoints, prefix }) });
  const b = newRegistry({ ...opts, store: new EtcdStore({ endpoints: etcd!.endpoints, prefix }) });
  await Promise.all([a.load(), b.load()]);
  t.teardown(() => Promise.all([a.store.close(), b.store.close()]));
  // Four writes at once, of 1,000 registrations each over the same 1,000 new services: etcd refuses
  // more than 128 operations in one transaction, and every write creates the same service records.
  const ids = Array.from({ length: 4000 }, (_, i) => `bulk-${i}`);
  const part = (from: number) => () => ids.slice(from, from + 1000).map((id, i) => a.register({ ...echo(id, { ttl: '5s' }), service: `svc-${i}` }));
  const registered = await Promise.all([0, 1000, 2000, 3000].map((from) => a.write(part(from))));
  t.is(registered.flat().length, 4000);
  await until('replica B to hold all 4,000', () => b.instanceCount === 4000);
  clock.advance(6000);
  await a.write(() => a.sweep());
  await until('replica B to see all 4,000 expired', () => ids.every((id) => b.getInstance(id)?.health === 'UNHEALTHY'));
  t.is(a.instanceCount, 4000, 'no duplicate, nothing removed');
  t.is(b.listServices('demo.local').length, 1000);
});
