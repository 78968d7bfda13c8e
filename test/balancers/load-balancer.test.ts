import test from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import { createPolicyRegistry } from '../../src/balancers/builtin-policies.js';
import { httpStatusForGrpc, isFailure, isGatewayFailure, LOCAL_ORIGIN_FAILURE } from '../../src/balancers/call-outcome.js';
import { PolicyBalancer } from '../../src/balancers/load-balancer.js';
import type { Picker } from '../../src/balancers/picker.js';
import type { RoutingDecision } from '../../src/balancers/routing.js';
import { countPicks, endpoint, endpoints, seededRandom } from './fixtures.js';

const registry = createPolicyRegistry();

test('per-endpoint stats survive picker rebuilds and are dropped once the endpoint is gone and idle', (t) => {
  const balancer = new PolicyBalancer(registry.create('least_request', {}), { random: seededRandom(1) });
  const eps = endpoints(3);
  balancer.updateEndpoints(eps);
  balancer.onCallStarted(eps[0]!);
  balancer.onCallStarted(eps[0]!);
  const before = balancer.stats.get('ep-0');
  balancer.updateEndpoints([...eps, endpoint(3)]);
  t.is(balancer.stats.get('ep-0'), before);
  t.is(before.activeRequests, 2);
  balancer.updateEndpoints(eps.slice(1));
  t.is(balancer.stats.peek('ep-0'), before, 'kept while calls are in flight');
  balancer.onCallEnded(eps[0]!, 200, 5);
  balancer.onCallEnded(eps[0]!, 200, 5);
  balancer.updateEndpoints(eps.slice(1));
  t.is(balancer.stats.peek('ep-0'), undefined, 'dropped once idle');
  t.is(balancer.stats.peek('ep-3'), undefined);
  balancer.onCallEnded(eps[0]!, 200, 5);
  t.is(balancer.stats.peek('ep-0'), undefined, 'a late end for an unknown endpoint changes nothing');
});

test('switching policy keeps the live load', (t) => {
  const balancer = new PolicyBalancer(registry.create('round_robin', {}), { random: seededRandom(1) });
  const eps = endpoints(2);
  balancer.updateEndpoints(eps);
  for (let i = 0; i < 3; i++) balancer.onCallStarted(eps[0]!);
  balancer.updatePolicy(registry.create('least_connections', {}));
  t.is(balancer.policyName, 'least_connections');
  t.deepEqual([...countPicks(balancer.picker, 4).keys()], ['ep-1']);
});

test('onPicker hears every new picker with its routing decision', (t) => {
  const seen: [Picker, RoutingDecision][] = [];
  const balancer = new PolicyBalancer(registry.create('random', {}), { random: seededRandom(1), onPicker: (p, d) => seen.push([p, d]) });
  balancer.updateEndpoints(endpoints(2));
  const first = balancer.picker;
  balancer.updateEndpoints([]);
  t.is(seen.length, 2);
  t.is(seen[0]![0], first);
  t.is(seen[0]![1].mode, 'healthy');
  t.is(seen[1]![1].mode, 'none');
  t.is(seen[1]![0].pick(), undefined);
});

test('latency is recorded on the monotonic clock, except for local-origin failures', (t) => {
  const clock = new ManualClock();
  const balancer = new PolicyBalancer(registry.create('peak_ewma', { decay_time_ms: 500 }), { clock, random: seededRandom(1) });
  const eps = endpoints(1);
  balancer.updateEndpoints(eps);
  t.is(balancer.stats.ewmaDecayMs, 500, 'the policy sets the EWMA time constant');
  balancer.onCallStarted(eps[0]!);
  balancer.onCallEnded(eps[0]!, 503, 12);
  const s = balancer.stats.get('ep-0');
  t.is(s.ewmaMs, 12);
  t.is(s.ewmaStamp, clock.monotonic());
  balancer.onCallStarted(eps[0]!);
  balancer.onCallEnded(eps[0]!, LOCAL_ORIGIN_FAILURE, 99);
  t.is(s.ewmaMs, 12);
  t.is(s.totalRequests, 2);
  balancer.onConnectionOpened(eps[0]!);
  t.is(s.snapshot().activeConnections, 1);
  balancer.onConnectionClosed(eps[0]!);
  balancer.onConnectionClosed(eps[0]!);
  t.deepEqual(s.snapshot(), { id: 'ep-0', activeRequests: 0, activeConnections: 0, totalRequests: 2, ewmaLatencyMs: 12 });
});

test('call outcomes classify as Envoy does', (t) => {
  t.true(isFailure(LOCAL_ORIGIN_FAILURE));
  t.true(isFailure(500));
  t.true(isFailure(599));
  t.false(isFailure(499));
  t.false(isFailure(200));
  t.true(isGatewayFailure(502) && isGatewayFailure(503) && isGatewayFailure(504) && isGatewayFailure(LOCAL_ORIGIN_FAILURE));
  t.false(isGatewayFailure(500));
  t.is(httpStatusForGrpc(0), 200);
  t.is(httpStatusForGrpc(14), 503);
  t.is(httpStatusForGrpc(4), 504);
  t.is(httpStatusForGrpc(5), 404);
  t.is(httpStatusForGrpc(99), 500);
});
