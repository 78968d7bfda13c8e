import test from 'ava';
import { createPolicyRegistry } from '../../src/balancers/builtin-policies.js';
import { LOCAL_ORIGIN_FAILURE } from '../../src/balancers/call-outcome.js';
import type { Endpoint } from '../../src/balancers/endpoint.js';
import { PolicyBalancer } from '../../src/balancers/load-balancer.js';
import { OutlierDetectionBalancer, type EjectionEvent, type OutlierDetectionConfig } from '../../src/balancers/outlier-detection.js';
import { DEFAULT_ROUTING } from '../../src/balancers/routing.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { DEFAULT_SERVICE_CONFIG } from '../../src/model/service-config.js';
import { countPicks, endpoints, seededRandom } from './fixtures.js';

const registry = createPolicyRegistry();
const NO_PANIC = { ...DEFAULT_ROUTING, panic_threshold_percent: 0 };

function setup(config: Partial<OutlierDetectionConfig> = {}, n = 10) {
  const clock = new ManualClock();
  const events: EjectionEvent[] = [];
  const readmitted: string[] = [];
  const child = new PolicyBalancer(registry.create('round_robin', {}), { clock, random: seededRandom(1), routing: NO_PANIC });
  const od = new OutlierDetectionBalancer(
    child,
    { base_ejection_time_ms: 1000, max_ejection_time_ms: 10_000, max_ejection_percent: 50, ...config },
    { clock, random: seededRandom(2), onEject: (e) => events.push(e), onReadmit: (id) => readmitted.push(id) },
  );
  const eps = endpoints(n);
  od.updateEndpoints(eps);
  const call = (ep: Endpoint, status: number, times = 1): void => {
    for (let i = 0; i < times; i++) {
      od.onCallStarted(ep);
      od.onCallEnded(ep, status, 2);
    }
  };
  const picked = (): Set<string> => new Set(countPicks(od.picker, n * 3).keys());
  return { clock, od, child, eps, call, events, readmitted, picked };
}

test('the service config defaults are accepted as they are', (t) => {
  const clock = new ManualClock();
  const od = new OutlierDetectionBalancer(new PolicyBalancer(registry.create('round_robin', {})), DEFAULT_SERVICE_CONFIG.outlier_detection, { clock });
  t.is(od.ejectionStates().length, 0);
  od.destroy();
  t.is(clock.pending(), 0);
});

test('consecutive 5xx eject an endpoint; a success in between resets the count', (t) => {
  const { od, eps, call, events, picked } = setup({ consecutive_5xx: 5 });
  call(eps[0]!, 500, 4);
  call(eps[0]!, 200);
  call(eps[0]!, 503, 4);
  t.is(od.ejectionState('ep-0')!.state, 'active');
  t.is(od.ejectionState('ep-0')!.consecutive5xx, 4);
  call(eps[0]!, 500);
  t.is(od.ejectionState('ep-0')!.state, 'ejected');
  t.deepEqual(events, [{ id: 'ep-0', reason: 'consecutive_5xx', durationMs: 1000, ejections: 1 }]);
  t.false(picked().has('ep-0'), 'the picker no longer offers it');
  t.is(picked().size, 9);
  call(eps[1]!, 404, 20);
  t.is(od.ejectionState('ep-1')!.state, 'active', '4xx are not failures');
});

test('consecutive gateway failures (502/503/504, local-origin) eject on their own threshold', (t) => {
  const { od, eps, call } = setup({ consecutive_5xx: 100, consecutive_gateway_failure: 3 });
  call(eps[0]!, 502);
  call(eps[0]!, 500); // a 5xx that is not a gateway failure resets the gateway count
  call(eps[0]!, 504);
  call(eps[0]!, LOCAL_ORIGIN_FAILURE);
  t.is(od.ejectionState('ep-0')!.state, 'active');
  call(eps[0]!, 503);
  t.is(od.ejectionState('ep-0')!.state, 'ejected');
  t.is(od.ejectionState('ep-0')!.lastReason, 'consecutive_gateway_failure');
});

test('ejection time is base × times ejected, capped at the maximum', (t) => {
  const { clock, od, eps, call, readmitted } = setup({ consecutive_5xx: 1, base_ejection_time_ms: 1000, max_ejection_time_ms: 3500 });
  const durations: number[] = [];
  for (let round = 0; round < 5; round++) {
    call(eps[0]!, 500); // active or half-open: one failure ejects (threshold 1 / half-open rule)
    const s = od.ejectionState('ep-0')!;
    t.is(s.state, 'ejected');
    const duration = s.readmitAt! - s.ejectedAt!;
    durations.push(duration);
    clock.advance(duration - 1);
    t.is(od.ejectionState('ep-0')!.state, 'ejected', 'still out 1 ms before the end');
    clock.advance(1);
    t.is(od.ejectionState('ep-0')!.state, 'half_open');
  }
  t.deepEqual(durations, [1000, 2000, 3000, 3500, 3500]);
  t.deepEqual(readmitted, Array(5).fill('ep-0'));
});

test('half-open: one success makes the endpoint active again, one failure re-ejects it at once', (t) => {
  const { clock, od, eps, call, picked } = setup({ consecutive_5xx: 3 });
  call(eps[0]!, 500, 3);
  clock.advance(1000);
  t.is(od.ejectionState('ep-0')!.state, 'half_open');
  t.true(picked().has('ep-0'), 'readmitted to the picker');
  call(eps[0]!, 503);
  t.is(od.ejectionState('ep-0')!.state, 'ejected', 'a single failure re-ejects');
  t.is(od.ejectionState('ep-0')!.lastReason, 'half_open_failure');
  t.is(od.ejectionState('ep-0')!.readmitAt! - clock.now(), 2000, 'for longer');
  clock.advance(2000);
  call(eps[0]!, 200);
  const s = od.ejectionState('ep-0')!;
  t.is(s.state, 'active');
  t.is(s.consecutive5xx, 0);
  call(eps[0]!, 500, 2);
  t.is(od.ejectionState('ep-0')!.state, 'active', 'active again: the full threshold applies');
});

test('the ejection multiplier drops by one each interval the endpoint stays active', (t) => {
  const { clock, od, eps, call } = setup({ consecutive_5xx: 1, interval_ms: 10_000, base_ejection_time_ms: 1000 });
  call(eps[0]!, 500);
  clock.advance(1000);
  call(eps[0]!, 500);
  t.is(od.ejectionState('ep-0')!.multiplier, 2);
  clock.advance(2000);
  call(eps[0]!, 200);
  clock.advance(10_000);
  t.is(od.ejectionState('ep-0')!.multiplier, 1);
  clock.advance(10_000);
  t.is(od.ejectionState('ep-0')!.multiplier, 0);
  call(eps[0]!, 500);
  const s = od.ejectionState('ep-0')!;
  t.is(s.readmitAt! - s.ejectedAt!, 1000, 'back to the base time');
  t.is(s.ejections, 3);
});

test('at most max_ejection_percent of the endpoints are ejected', (t) => {
  const { od, eps, call, picked } = setup({ consecutive_5xx: 2, max_ejection_percent: 20 }, 10);
  for (let i = 0; i < 5; i++) call(eps[i]!, 500, 2);
  t.deepEqual(od.ejectedIds(), ['ep-0', 'ep-1']);
  t.is(picked().size, 8);
  t.is(od.ejectionState('ep-4')!.state, 'active');
});

test('one endpoint may always be ejected, as in Envoy; 0% ejects none', (t) => {
  const small = setup({ consecutive_5xx: 1, max_ejection_percent: 10 }, 3);
  small.call(small.eps[0]!, 500);
  small.call(small.eps[1]!, 500);
  t.deepEqual(small.od.ejectedIds(), ['ep-0']);
  const none = setup({ consecutive_5xx: 1, max_ejection_percent: 0 }, 3);
  none.call(none.eps[0]!, 500, 5);
  t.deepEqual(none.od.ejectedIds(), []);
});

test('success-rate ejection runs every interval over endpoints with enough volume', (t) => {
  const config = { consecutive_5xx: 1000, interval_ms: 5000, success_rate: { minimum_hosts: 5, request_volume: 100, stdev_factor: 1.9 } };
  const { clock, od, eps, call, events } = setup(config, 8);
  for (let i = 0; i < 6; i++) {
    call(eps[i]!, 200, i === 3 ? 50 : 99);
    call(eps[i]!, 500, i === 3 ? 50 : 1);
  }
  call(eps[7]!, 500, 60); // a bad endpoint, but below request_volume: not judged
  clock.advance(4999);
  t.deepEqual(od.ejectedIds(), [], 'nothing before the interval');
  clock.advance(1);
  t.deepEqual(od.ejectedIds(), ['ep-3']);
  t.is(events[0]!.reason, 'success_rate');
  t.is(od.ejectionState('ep-0')!.intervalSuccesses, 0, 'counters start over each interval');
});

test('success-rate ejection needs minimum_hosts endpoints with volume', (t) => {
  const config = { consecutive_5xx: 1000, interval_ms: 5000, success_rate: { minimum_hosts: 5, request_volume: 100, stdev_factor: 1.9 } };
  const { clock, od, eps, call } = setup(config, 8);
  for (let i = 0; i < 4; i++) {
    call(eps[i]!, 200, i === 3 ? 10 : 100);
    call(eps[i]!, 500, i === 3 ? 90 : 0);
  }
  clock.advance(5000);
  t.deepEqual(od.ejectedIds(), []);
});

test('enforcement percentages and enabled: false stop ejections but not detection', (t) => {
  const unenforced = setup({ consecutive_5xx: 2, enforcing_consecutive_5xx: 0 });
  unenforced.call(unenforced.eps[0]!, 500, 10);
  t.deepEqual(unenforced.od.ejectedIds(), []);
  const disabled = setup({ consecutive_5xx: 2, enabled: false });
  disabled.call(disabled.eps[0]!, 500, 10);
  t.deepEqual(disabled.od.ejectedIds(), []);
  t.is(disabled.clock.pending(), 0, 'no interval timer while disabled');
});

test('disabling at run time readmits everyone', (t) => {
  const { od, eps, call, picked } = setup({ consecutive_5xx: 1 });
  call(eps[0]!, 500);
  t.deepEqual(od.ejectedIds(), ['ep-0']);
  od.updateConfig({ consecutive_5xx: 1, enabled: false });
  t.deepEqual(od.ejectedIds(), []);
  t.true(picked().has('ep-0'));
});

test('ejection state is exposed per endpoint; removing an endpoint drops its state and timer', (t) => {
  const { clock, od, eps, call } = setup({ consecutive_5xx: 1 });
  call(eps[2]!, 500);
  const states = od.ejectionStates();
  t.is(states.length, 10);
  t.deepEqual(
    states.filter((s) => s.state !== 'active').map((s) => [s.id, s.state, s.lastReason, s.ejections]),
    [['ep-2', 'ejected', 'consecutive_5xx', 1]],
  );
  const before = clock.pending();
  od.updateEndpoints(eps.filter((e) => e.id !== 'ep-2'));
  t.is(clock.pending(), before - 1);
  t.is(od.ejectionState('ep-2'), undefined);
  t.deepEqual(od.ejectedIds(), []);
  od.destroy();
  t.is(clock.pending(), 0);
});

test('ejected endpoints count as unhealthy for the child’s panic threshold', (t) => {
  const clock = new ManualClock();
  const child = new PolicyBalancer(registry.create('round_robin', {}), { clock, random: seededRandom(1), routing: { ...DEFAULT_ROUTING, panic_threshold_percent: 50 } });
  const od = new OutlierDetectionBalancer(child, { consecutive_5xx: 1, max_ejection_percent: 100 }, { clock });
  const eps = endpoints(3);
  od.updateEndpoints(eps);
  od.onCallEnded(eps[0]!, 500);
  t.is(child.routing.mode, 'healthy');
  od.onCallEnded(eps[1]!, 500);
  t.is(child.routing.mode, 'panic', '1 healthy of 3 < 50%');
  t.is(countPicks(od.picker, 30).size, 3);
  od.destroy();
});

test('the wrapper passes call and connection events through to its child', (t) => {
  const { od, child, eps } = setup();
  od.onCallStarted(eps[4]!);
  od.onConnectionOpened(eps[4]!);
  t.is(child.stats.get('ep-4').activeRequests, 1);
  t.is(child.stats.get('ep-4').activeConnections, 1);
  od.onCallEnded(eps[4]!, 200, 7);
  od.onConnectionClosed(eps[4]!);
  t.deepEqual(child.stats.get('ep-4').snapshot(), { id: 'ep-4', activeRequests: 0, activeConnections: 0, totalRequests: 1, ewmaLatencyMs: 7 });
  t.is(od.picker, child.picker);
  od.destroy();
});
