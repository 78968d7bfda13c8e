import test from 'ava';
import { createPolicyRegistry } from '../../src/balancers/builtin-policies.js';
import { EarliestDeadlinePicker, PowerOfChoicesPicker } from '../../src/balancers/least-request.js';
import { PolicyBalancer } from '../../src/balancers/load-balancer.js';
import { countPicks, endpoints, seededRandom, share } from './fixtures.js';

const registry = createPolicyRegistry();

test('least_request (equal weights, P2C) steers away from an endpoint with many active requests', (t) => {
  const balancer = new PolicyBalancer(registry.create('least_request', {}), { random: seededRandom(11) });
  const eps = endpoints(3);
  balancer.updateEndpoints(eps);
  t.true(balancer.picker instanceof PowerOfChoicesPicker);
  for (let i = 0; i < 50; i++) balancer.onCallStarted(eps[0]!);
  const counts = countPicks(balancer.picker, 9000);
  // With two draws, the busy endpoint wins only when both draws hit it: 1/9.
  const busy = share(counts, 'ep-0', 9000);
  t.true(busy < 0.15, `busy endpoint share ${busy}`);
  t.true(share(counts, 'ep-1', 9000) > 0.4);
  t.true(share(counts, 'ep-2', 9000) > 0.4);
});

test('least_request with more choices avoids the busy endpoint more', (t) => {
  const shares: number[] = [];
  for (const choice_count of [2, 4]) {
    const balancer = new PolicyBalancer(registry.create('least_request', { choice_count }), { random: seededRandom(3) });
    const eps = endpoints(3);
    balancer.updateEndpoints(eps);
    for (let i = 0; i < 10; i++) balancer.onCallStarted(eps[0]!);
    shares.push(share(countPicks(balancer.picker, 9000), 'ep-0', 9000));
  }
  t.true(shares[1]! < shares[0]! / 3, `busy share: ${shares.join(' vs ')}`);
});

test('least_request under live load keeps active counts level', (t) => {
  const balancer = new PolicyBalancer(registry.create('least_request', {}), { random: seededRandom(5) });
  const eps = endpoints(4);
  balancer.updateEndpoints(eps);
  for (let i = 0; i < 400; i++) balancer.onCallStarted(balancer.picker.pick()!);
  const active = eps.map((e) => balancer.stats.get(e.id).activeRequests);
  t.true(Math.max(...active) - Math.min(...active) <= 3, `active: ${active.join(',')}`);
});

test('least_request with unequal weights follows the weights when idle (EDF)', (t) => {
  const balancer = new PolicyBalancer(registry.create('least_request', {}), { random: seededRandom(2) });
  const weights = [1, 3, 6];
  balancer.updateEndpoints(endpoints(3, (i) => ({ weight: weights[i]! })));
  t.true(balancer.picker instanceof EarliestDeadlinePicker);
  const counts = countPicks(balancer.picker, 10_000);
  weights.forEach((w, i) => {
    const got = share(counts, `ep-${i}`, 10_000);
    t.true(Math.abs(got - w / 10) <= 0.05 * (w / 10), `ep-${i}: ${got}`);
  });
});

test('least_request with unequal weights divides weight by (active + 1)^bias', (t) => {
  // Heavy endpoint (weight 4) with 7 active: effective weight 4 / 8 = 0.5 against 1 for the light one.
  for (const [bias, expectHeavy] of [
    [1, 0.5 / 1.5],
    [0, 4 / 5],
  ] as const) {
    const balancer = new PolicyBalancer(registry.create('least_request', { active_request_bias: bias }), { random: seededRandom(9) });
    const eps = endpoints(2, (i) => ({ weight: [4, 1][i]! }));
    balancer.updateEndpoints(eps);
    for (let i = 0; i < 7; i++) balancer.onCallStarted(eps[0]!);
    balancer.updateEndpoints(eps); // a fresh schedule, built with the load in place
    const heavy = share(countPicks(balancer.picker, 6000), 'ep-0', 6000);
    t.true(Math.abs(heavy - expectHeavy) < 0.03, `bias ${bias}: heavy share ${heavy}, expected ${expectHeavy}`);
  }
});

test('least_request EDF steers away from a heavy endpoint as its load rises', (t) => {
  const balancer = new PolicyBalancer(registry.create('least_request', {}), { random: seededRandom(4) });
  const eps = endpoints(3, (i) => ({ weight: [5, 1, 1][i]! }));
  balancer.updateEndpoints(eps);
  const idle = share(countPicks(balancer.picker, 7000), 'ep-0', 7000);
  for (let i = 0; i < 100; i++) balancer.onCallStarted(eps[0]!);
  const busy = share(countPicks(balancer.picker, 7000), 'ep-0', 7000);
  t.true(idle > 0.65, `idle heavy share ${idle}`);
  t.true(busy < 0.1, `busy heavy share ${busy}`);
});
