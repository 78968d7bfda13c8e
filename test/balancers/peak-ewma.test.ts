import test from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import { createPolicyRegistry } from '../../src/balancers/builtin-policies.js';
import { EndpointStats } from '../../src/balancers/endpoint-stats.js';
import { LOCAL_ORIGIN_FAILURE } from '../../src/balancers/call-outcome.js';
import { PolicyBalancer } from '../../src/balancers/load-balancer.js';
import { countPicks, endpoints, seededRandom, share } from './fixtures.js';

const registry = createPolicyRegistry();

function setup(options: Record<string, unknown> = {}, n = 3) {
  const clock = new ManualClock();
  const balancer = new PolicyBalancer(registry.create('peak_ewma', options), { clock, random: seededRandom(6) });
  const eps = endpoints(n);
  balancer.updateEndpoints(eps);
  const respond = (i: number, ms: number): void => {
    balancer.onCallStarted(eps[i]!);
    balancer.onCallEnded(eps[i]!, 200, ms);
  };
  return { clock, balancer, eps, respond };
}

test('peak_ewma prefers the faster endpoint', (t) => {
  const { balancer, respond } = setup();
  for (let k = 0; k < 5; k++) {
    respond(0, 5);
    respond(1, 50);
    respond(2, 50);
  }
  const counts = countPicks(balancer.picker, 6000);
  // The fast endpoint wins every pair it is drawn into: two pairs in three.
  t.true(share(counts, 'ep-0', 6000) > 0.6, `fast share ${share(counts, 'ep-0', 6000)}`);
  const two = setup({}, 2);
  two.respond(0, 50);
  two.respond(1, 5);
  t.is(countPicks(two.balancer.picker, 100).get('ep-1'), 100, 'of two endpoints, always the faster');
});

test('peak_ewma weighs latency by active requests + 1', (t) => {
  const { balancer, eps, respond } = setup({}, 2);
  respond(0, 5);
  respond(1, 20);
  for (let i = 0; i < 4; i++) balancer.onCallStarted(eps[0]!); // 5 × 5 = 25 > 20 × 1
  t.is(balancer.picker.pick()!.id, 'ep-1');
  balancer.onCallEnded(eps[0]!, 200);
  balancer.onCallEnded(eps[0]!, 200); // 5 × 3 = 15 < 20
  t.is(balancer.picker.pick()!.id, 'ep-0');
});

test('peak_ewma charges an endpoint with no data yet default_rtt_ms', (t) => {
  const penal = setup({ default_rtt_ms: 30 }, 2);
  penal.respond(0, 10);
  t.is(penal.balancer.picker.pick()!.id, 'ep-0', 'a known 10 ms beats an unknown charged 30 ms');
  const lenient = setup({ default_rtt_ms: 1 }, 2);
  lenient.respond(0, 10);
  t.is(lenient.balancer.picker.pick()!.id, 'ep-1', 'an unknown charged 1 ms beats a known 10 ms');
});

test('peak_ewma estimates decay while an endpoint gets no responses', (t) => {
  const { clock, balancer, respond } = setup({ decay_time_ms: 1000 }, 2);
  respond(0, 100);
  clock.advance(5000);
  respond(1, 10);
  // ep-0: 100 × e^-5 ≈ 0.67 ms now, below ep-1's fresh 10 ms: worth another try.
  t.is(balancer.picker.pick()!.id, 'ep-0');
});

test('peak_ewma ignores local-origin failures as latency samples', (t) => {
  const { balancer, eps } = setup({}, 2);
  balancer.onCallStarted(eps[0]!);
  balancer.onCallEnded(eps[0]!, LOCAL_ORIGIN_FAILURE, 1);
  t.false(balancer.stats.get('ep-0').hasLatency);
  t.is(balancer.stats.get('ep-0').activeRequests, 0);
});

test('the EWMA jumps to a peak at once and comes down smoothly', (t) => {
  const s = new EndpointStats('x');
  s.observeLatency(10, 0, 1000);
  t.is(s.ewmaMs, 10);
  s.observeLatency(80, 100, 1000);
  t.is(s.ewmaMs, 80, 'a higher sample replaces the estimate');
  s.observeLatency(10, 1100, 1000);
  const w = Math.exp(-1);
  t.true(Math.abs(s.ewmaMs - (80 * w + 10 * (1 - w))) < 1e-9, `blended: ${s.ewmaMs}`);
  t.true(Math.abs(s.latencyAt(2100, 1000) - s.ewmaMs * w) < 1e-9, 'read-time decay toward zero');
  t.is(s.latencyAt(1100, 1000), s.ewmaMs);
  s.observeLatency(-1, 1200, 1000);
  s.observeLatency(Number.NaN, 1200, 1000);
  t.is(s.ewmaStamp, 1100, 'nonsense samples are ignored');
});
