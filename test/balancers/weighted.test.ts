import test from 'ava';
import type { Endpoint } from '../../src/balancers/endpoint.js';
import { createPolicyRegistry } from '../../src/balancers/builtin-policies.js';
import { PolicyBalancer } from '../../src/balancers/load-balancer.js';
import { MAX_EXACT_CLASSES, SmoothWeightedPicker } from '../../src/balancers/weighted.js';
import { countPicks, endpoints, seededRandom, share } from './fixtures.js';

const registry = createPolicyRegistry();

/** nginx's smooth weighted round robin as nginx writes it: a scan of every peer per pick. */
function nginxReference(eps: readonly Endpoint[]): () => string {
  const current = eps.map(() => 0);
  const total = eps.reduce((s, e) => s + e.weight, 0);
  return () => {
    let best = -1;
    for (let i = 0; i < eps.length; i++) {
      current[i]! += eps[i]!.weight;
      if (best === -1 || current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    return eps[best]!.id;
  };
}

test("weighted gives nginx's smooth sequence for weights 5, 1, 1: a a b a c a a", (t) => {
  const picker = new SmoothWeightedPicker(endpoints(3, (i) => ({ weight: [5, 1, 1][i]! })));
  const names: Record<string, string> = { 'ep-0': 'a', 'ep-1': 'b', 'ep-2': 'c' };
  const seq = Array.from({ length: 14 }, () => names[picker.pick()!.id]).join(' ');
  t.is(seq, 'a a b a c a a a a b a c a a');
});

test('weighted matches the nginx reference pick for pick, for random weight sets', (t) => {
  const random = seededRandom(42);
  let compared = 0;
  for (let round = 0; round < 40; round++) {
    const n = 1 + Math.floor(random() * 30);
    const maxWeight = [3, 10, 1000][round % 3]!;
    const eps = endpoints(n, () => ({ weight: 1 + Math.floor(random() * maxWeight) }));
    const picker = new SmoothWeightedPicker(eps);
    const reference = nginxReference(eps);
    for (let k = 0; k < 600; k++) {
      const want = reference();
      const got = picker.pick()!.id;
      if (got !== want) {
        t.is(got, want, `round ${round}, pick ${k}: got ${got}, nginx picks ${want} (weights ${eps.map((e) => e.weight).join(',')})`);
        return;
      }
      compared++;
    }
  }
  t.is(compared, 40 * 600, 'every pick matched the nginx reference');
});

test('weighted shares are within ±5% of the weight share over 10,000 picks', (t) => {
  const weights = [1, 2, 3, 4, 10];
  const balancer = new PolicyBalancer(registry.create('weighted', {}), { random: seededRandom(1) });
  balancer.updateEndpoints(endpoints(5, (i) => ({ weight: weights[i]! })));
  const counts = countPicks(balancer.picker, 10_000);
  const total = weights.reduce((a, b) => a + b, 0);
  weights.forEach((w, i) => {
    const got = share(counts, `ep-${i}`, 10_000);
    const want = w / total;
    t.true(Math.abs(got - want) <= 0.05 * want, `ep-${i}: ${got} vs ${want}`);
  });
});

test('weighted with more distinct weights than the exact limit still honours the shares', (t) => {
  const n = MAX_EXACT_CLASSES * 2;
  const balancer = new PolicyBalancer(registry.create('weighted', {}), { random: seededRandom(5) });
  const eps = endpoints(n, (i) => ({ weight: 1 + i }));
  balancer.updateEndpoints(eps);
  const total = eps.reduce((s, e) => s + e.weight, 0);
  const picks = total * 20;
  const counts = countPicks(balancer.picker, picks);
  for (const ep of eps) {
    const want = ep.weight / total;
    const got = share(counts, ep.id, picks);
    t.true(Math.abs(got - want) <= 0.05 * want, `${ep.id}: ${got} vs ${want}`);
  }
});

test('weighted clamps weights outside 1–1000 instead of failing', (t) => {
  const eps = endpoints(2, (i) => ({ weight: [0, 5000][i]! }));
  const counts = countPicks(new SmoothWeightedPicker(eps), 1001);
  t.is(counts.get('ep-0'), 1);
  t.is(counts.get('ep-1'), 1000);
});
