import test from 'ava';
import { createPolicyRegistry } from '../../src/balancers/builtin-policies.js';
import { PolicyBalancer } from '../../src/balancers/load-balancer.js';
import { DEFAULT_ROUTING, selectRoutable, type RoutingConfig } from '../../src/balancers/routing.js';
import { DEFAULT_SERVICE_CONFIG } from '../../src/model/service-config.js';
import { countPicks, endpoint, endpoints, seededRandom } from './fixtures.js';

const registry = createPolicyRegistry();

function routing(panic: number, zoneAware = true, minHealthy = 70): RoutingConfig {
  return { panic_threshold_percent: panic, zone_aware: { enabled: zoneAware, min_healthy_percent: minHealthy } };
}

/** `local` endpoints in zone-a (the first `localHealthy` of them healthy), then `remote` healthy ones in zone-b. */
function zoned(local: number, localHealthy: number, remote: number) {
  return [
    ...Array.from({ length: local }, (_, i) => endpoint(i, { zone: 'zone-a', health: i < localHealthy ? 'HEALTHY' : 'UNHEALTHY' })),
    ...Array.from({ length: remote }, (_, i) => endpoint(100 + i, { zone: 'zone-b' })),
  ];
}

/** zone null: this sidecar's zone is unknown. */
function balancer(config: RoutingConfig = DEFAULT_ROUTING, zone: string | null = 'zone-a', region?: string): PolicyBalancer {
  return new PolicyBalancer(registry.create('round_robin', {}), { random: seededRandom(1), routing: config, locality: { zone: zone ?? undefined, region } });
}

test('the service config defaults are the routing defaults', (t) => {
  t.is(DEFAULT_SERVICE_CONFIG.panic_threshold_percent, DEFAULT_ROUTING.panic_threshold_percent);
  t.deepEqual(DEFAULT_SERVICE_CONFIG.zone_aware, DEFAULT_ROUTING.zone_aware);
});

test('zone-aware: the local zone is preferred while enough of it is healthy', (t) => {
  const b = balancer();
  b.updateEndpoints(zoned(10, 7, 10)); // exactly 70% of the local zone healthy
  t.is(b.routing.mode, 'local_zone');
  const counts = countPicks(b.picker, 700);
  t.deepEqual([...counts.keys()].sort(), ['ep-0', 'ep-1', 'ep-2', 'ep-3', 'ep-4', 'ep-5', 'ep-6']);
});

test('zone-aware: below the local share, traffic falls back to every healthy endpoint', (t) => {
  const b = balancer();
  b.updateEndpoints(zoned(10, 6, 10)); // 60% < 70%
  t.is(b.routing.mode, 'healthy');
  const counts = countPicks(b.picker, 1600);
  t.is(counts.size, 16, '6 local + 10 remote healthy endpoints');
  t.false([...counts.keys()].some((id) => ['ep-6', 'ep-7', 'ep-8', 'ep-9'].includes(id)));
});

test('zone-aware: no local endpoint, no local zone known, or disabled means all healthy endpoints', (t) => {
  for (const [config, zone] of [
    [DEFAULT_ROUTING, 'zone-c'],
    [DEFAULT_ROUTING, null],
    [routing(50, false), 'zone-a'],
  ] as const) {
    const b = balancer(config, zone);
    b.updateEndpoints(zoned(3, 3, 3));
    t.is(b.routing.mode, 'healthy');
    t.is(countPicks(b.picker, 60).size, 6);
  }
});

test('zone-aware: a local region, when given, must match too', (t) => {
  const eps = [endpoint(0, { zone: 'zone-a', region: 'region-1' }), endpoint(1, { zone: 'zone-a', region: 'region-2' })];
  const b = balancer(DEFAULT_ROUTING, 'zone-a', 'region-2');
  b.updateEndpoints(eps);
  t.deepEqual([...countPicks(b.picker, 10).keys()], ['ep-1']);
});

test('panic: below the threshold, balance over every non-draining endpoint, healthy or not', (t) => {
  const b = balancer(routing(50), null);
  const eps = endpoints(10, (i) => ({ health: i < 4 ? 'HEALTHY' : i < 6 ? 'UNHEALTHY' : i < 8 ? 'UNKNOWN' : 'DRAINING' }));
  // 8 non-draining, 4 healthy = 50%: not panic yet.
  b.updateEndpoints(eps);
  t.is(b.routing.mode, 'healthy');
  t.is(countPicks(b.picker, 40).size, 4);
  // 3 healthy of 8 = 37.5% < 50%: panic.
  b.updateEndpoints(eps.map((e, i) => (i === 0 ? { ...e, health: 'UNHEALTHY' as const } : e)));
  t.is(b.routing.mode, 'panic');
  t.deepEqual(b.routing.healthy, 3);
  t.deepEqual(b.routing.total, 8);
  const counts = countPicks(b.picker, 800);
  t.is(counts.size, 8, 'all non-draining endpoints take traffic');
  t.false(counts.has('ep-8') || counts.has('ep-9'), 'draining endpoints never do');
});

test('panic overrides zone preference; draining endpoints do not push a service into panic', (t) => {
  const b = balancer(routing(50));
  b.updateEndpoints([...zoned(2, 0, 2), endpoint(50, { zone: 'zone-b', health: 'UNHEALTHY' })]);
  t.is(b.routing.mode, 'panic');
  t.is(countPicks(b.picker, 50).size, 5);
  const rolling = balancer(routing(50), null);
  rolling.updateEndpoints(endpoints(10, (i) => ({ health: i < 6 ? 'DRAINING' : 'HEALTHY' })));
  t.is(rolling.routing.mode, 'healthy', '4 healthy of 4 non-draining');
});

test('panic threshold 0 disables panic: with nothing healthy, nothing is picked', (t) => {
  const b = balancer(routing(0), null);
  b.updateEndpoints(endpoints(3, () => ({ health: 'UNHEALTHY' })));
  t.is(b.routing.mode, 'none');
  t.is(b.picker.pick(), undefined);
  const draining = balancer(routing(50), null);
  draining.updateEndpoints(endpoints(3, () => ({ health: 'DRAINING' })));
  t.is(draining.picker.pick(), undefined, 'draining only: nothing, even with panic on');
});

test('ejected endpoints count as unhealthy, for routing and for panic', (t) => {
  const eps = endpoints(4);
  const some = selectRoutable(eps, routing(50), {}, new Set(['ep-0']));
  t.is(some.mode, 'healthy');
  t.deepEqual(some.endpoints.map((e) => e.id), ['ep-1', 'ep-2', 'ep-3']);
  const most = selectRoutable(eps, routing(50), {}, new Set(['ep-0', 'ep-1', 'ep-2']));
  t.is(most.mode, 'panic');
  t.is(most.endpoints.length, 4);
});
