import test from 'ava';
import { createPolicyRegistry } from '../../src/balancers/builtin-policies.js';
import { PolicyBalancer } from '../../src/balancers/load-balancer.js';
import { RandomPicker } from '../../src/balancers/random.js';
import { countPicks, endpoints, seededRandom, share } from './fixtures.js';

const registry = createPolicyRegistry();

test('random covers every endpoint', (t) => {
  const balancer = new PolicyBalancer(registry.create('random', {}), { random: seededRandom(8) });
  balancer.updateEndpoints(endpoints(100));
  const counts = countPicks(balancer.picker, 10_000);
  t.is(counts.size, 100);
  for (const c of counts.values()) t.true(c > 50 && c < 150, `count ${c}`);
});

test('random draws in proportion to weight', (t) => {
  const weights = [1, 1, 2, 6, 10];
  const picker = new RandomPicker(endpoints(5, (i) => ({ weight: weights[i]! })), seededRandom(21));
  const counts = countPicks(picker, 20_000);
  weights.forEach((w, i) => {
    const want = w / 20;
    const got = share(counts, `ep-${i}`, 20_000);
    t.true(Math.abs(got - want) <= 0.1 * want, `ep-${i}: ${got} vs ${want}`);
  });
});

test('random is deterministic under an injected source', (t) => {
  const eps = endpoints(7, (i) => ({ weight: i + 1 }));
  const a = new RandomPicker(eps, seededRandom(5));
  const b = new RandomPicker(eps, seededRandom(5));
  const seqA = Array.from({ length: 50 }, () => a.pick()!.id);
  const seqB = Array.from({ length: 50 }, () => b.pick()!.id);
  t.deepEqual(seqA, seqB);
});

test('random survives a source that returns values at the edges of [0, 1)', (t) => {
  const values = [0, 0.9999999999999999, 1];
  let k = 0;
  const picker = new RandomPicker(endpoints(3, (i) => ({ weight: i + 1 })), () => values[k++ % 3]!);
  for (let i = 0; i < 6; i++) t.not(picker.pick(), undefined);
  const uniform = new RandomPicker(endpoints(3), () => 1);
  t.is(uniform.pick()!.id, 'ep-2');
});
