import test from 'ava';
import { LeaseSchedule } from '../../src/registry/lease-schedule.js';
import type { Instance, Lease } from '../../src/registry/model.js';

function instance(id: string, lease: Partial<Lease>): Instance {
  return {
    id,
    namespace: 'ns.local',
    service: 'svc',
    address: '10.0.0.1',
    port: 80,
    lease: { ttlMs: 1000, deregisterCriticalAfterMs: 5000, renewedAt: 0, held: false, ...lease },
  } as unknown as Instance;
}

test('due gives the stored versions whose lease has come up, in deadline order, each once; others wait', (t) => {
  const stored = new Map<string, Instance>();
  const schedule = new LeaseSchedule(stored);
  const put = (inst: Instance): void => {
    stored.set(inst.id, inst);
    schedule.add(inst);
  };
  put(instance('late', { renewedAt: 500 }));
  put(instance('early', { renewedAt: 0 }));
  put(instance('held', { held: true }));
  put(instance('static', { ttlMs: 0 }));
  put(instance('expired', { expiredAt: 0 }));
  const current = (inst: Instance): boolean => stored.get(inst.id) === inst;

  t.deepEqual(schedule.due(999, current), []);
  t.deepEqual(schedule.due(1000, current).map((i) => i.id), ['early']);
  // A renewal stores a new version: the old one is dropped when it comes up.
  put(instance('late', { renewedAt: 1400 }));
  t.deepEqual(schedule.due(1500, current), []);
  t.deepEqual(schedule.due(2400, current).map((i) => i.id), ['late']);
  t.deepEqual(schedule.due(5000, current).map((i) => i.id), ['expired']);
  t.deepEqual(schedule.due(1_000_000, current), [], 'held and static leases never come up');
  t.is(schedule.size, 0);
});

test('versions no sweep takes out are dropped once they outnumber the stored instances', (t) => {
  const stored = new Map<string, Instance>();
  const schedule = new LeaseSchedule(stored);
  for (let renewal = 0; renewal < 5000; renewal++) {
    const inst = instance('one', { renewedAt: renewal });
    stored.set(inst.id, inst);
    schedule.add(inst);
  }
  t.true(schedule.size <= 2 * stored.size + 1024, `${schedule.size} entries for one instance`);
  t.deepEqual(schedule.due(10_000, (inst) => stored.get(inst.id) === inst).map((i) => i.lease.renewedAt), [4999]);
});
