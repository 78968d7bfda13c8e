import test from 'ava';
import { createPolicyRegistry } from '../../src/balancers/builtin-policies.js';
import { PolicyBalancer } from '../../src/balancers/load-balancer.js';
import { RoundRobinPicker } from '../../src/balancers/round-robin.js';
import { countPicks, endpoint, endpoints, seededRandom } from './fixtures.js';

const registry = createPolicyRegistry();

test('round_robin visits every endpoint exactly in turn', (t) => {
  const balancer = new PolicyBalancer(registry.create('round_robin', {}), { random: seededRandom(7) });
  balancer.updateEndpoints(endpoints(3, (i) => ({ weight: i + 1 })));
  const picker = balancer.picker;
  const seq = Array.from({ length: 3000 }, () => picker.pick()!.id);
  const counts = new Map<string, number>();
  for (const id of seq) counts.set(id, (counts.get(id) ?? 0) + 1);
  t.deepEqual([...counts.values()], [1000, 1000, 1000], 'exactly equal shares: weights are ignored');
  const order = ['ep-0', 'ep-1', 'ep-2'];
  const start = order.indexOf(seq[0] ?? '');
  seq.forEach((id, k) => t.is(id, order[(start + k) % 3]!));
});

test('round_robin starts new pickers at a position drawn from the random source', (t) => {
  const eps = endpoints(5);
  const a = new RoundRobinPicker(eps, 3);
  t.is(a.pick()!.id, 'ep-3');
  t.is(a.pick()!.id, 'ep-4');
  t.is(a.pick()!.id, 'ep-0');
  const firsts = new Set<string>();
  const random = seededRandom(3);
  for (let i = 0; i < 50; i++) {
    const balancer = new PolicyBalancer(registry.create('round_robin', {}), { random });
    balancer.updateEndpoints(eps);
    firsts.add(balancer.picker.pick()!.id);
  }
  t.true(firsts.size >= 4, `first picks spread over endpoints: ${[...firsts].join(',')}`);
});

test('only HEALTHY endpoints are picked; none routable gives undefined', (t) => {
  const balancer = new PolicyBalancer(registry.create('round_robin', {}), { random: seededRandom(1), routing: { panic_threshold_percent: 0, zone_aware: { enabled: false, min_healthy_percent: 70 } } });
  balancer.updateEndpoints([
    endpoint(0),
    endpoint(1, { health: 'UNKNOWN' }),
    endpoint(2, { health: 'DRAINING' }),
    endpoint(3, { health: 'UNHEALTHY' }),
    endpoint(4),
  ]);
  const counts = countPicks(balancer.picker, 100);
  t.deepEqual([...counts.keys()].sort(), ['ep-0', 'ep-4']);
  balancer.updateEndpoints([endpoint(0, { health: 'UNHEALTHY' })]);
  t.is(balancer.picker.pick(), undefined);
  balancer.updateEndpoints([]);
  t.is(balancer.picker.pick(), undefined);
});

test('a picker is a snapshot: an update installs a new picker and leaves the old one as it was', (t) => {
  const balancer = new PolicyBalancer(registry.create('round_robin', {}), { random: seededRandom(1) });
  const first = endpoints(2);
  balancer.updateEndpoints(first);
  const old = balancer.picker;
  balancer.updateEndpoints(endpoints(4));
  t.not(balancer.picker, old);
  t.deepEqual(old.endpoints.map((e) => e.id), ['ep-0', 'ep-1']);
  t.deepEqual([...countPicks(old, 10).keys()].sort(), ['ep-0', 'ep-1']);
  t.is(balancer.picker.endpoints.length, 4);
  t.true(Object.isFrozen(balancer.endpoints));
});
