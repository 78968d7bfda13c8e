import test from 'ava';
import { OutriggerError } from '../../src/common/errors.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { HubMetrics } from '../../src/metrics/hub-metrics.js';
import type { RegistryChange } from '../../src/registry/model.js';
import type { Registry, RegistryOptions } from '../../src/registry/registry.js';
import { newRegistry } from '../helpers/registry.js';

function setup(opts: Partial<RegistryOptions> = {}) {
  const clock = new ManualClock();
  const registry = newRegistry({ clock, sweepIntervalMs: 1000, ...opts });
  const changes: RegistryChange[] = [];
  registry.subscribe((c) => changes.push(c));
  registry.start();
  return { clock, registry, changes };
}

const echo = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  service: 'echo',
  namespace: 'demo.local',
  address: '127.0.0.1',
  port: 5000,
  ...extra,
});

test('register creates namespace and service with defaults and emits ordered changes', (t) => {
  const { registry, changes } = setup();
  const inst = registry.register(echo('a'));
  t.is(inst.health, 'HEALTHY');
  t.is(inst.weight, 100);
  t.is(inst.protocol, 'http');
  t.is(inst.lease.ttlMs, 30_000);
  t.truthy(registry.getNamespace('demo.local'));
  t.is(registry.getService('demo.local', 'echo')?.config.lb_policy, 'round_robin');
  t.deepEqual(
    changes.map((c) => `${c.kind}:${c.op}`),
    ['namespace:upsert', 'service:upsert', 'instance:upsert'],
  );
  t.deepEqual(changes.map((c) => c.version), [1, 2, 3]);
});

test('re-registering the same id replaces, never duplicates', (t) => {
  const { registry } = setup();
  registry.register(echo('a'));
  registry.register(echo('a', { port: 5001 }));
  const all = registry.instancesOf('demo.local', 'echo');
  t.is(all.length, 1);
  t.is(all[0]!.port, 5001);
});

test('an instance that stops renewing goes UNHEALTHY after ttl, and is removed after deregister_critical_after', (t) => {
  const { clock, registry } = setup();
  registry.register(echo('a', { ttl: '10s', deregister_critical_after: '30s' }));
  clock.advance(10_000);
  t.is(registry.getInstance('a')?.health, 'HEALTHY', 'not expired at exactly ttl');
  clock.advance(1000);
  t.is(registry.getInstance('a')?.health, 'UNHEALTHY');
  t.is(registry.leaseExpiries, 1);
  clock.advance(29_000);
  t.truthy(registry.getInstance('a'));
  clock.advance(1000);
  t.is(registry.getInstance('a'), undefined);
});

test('a heartbeat renews the lease and restores reported health', (t) => {
  const { clock, registry } = setup();
  registry.register(echo('a', { ttl: '10s' }));
  clock.advance(8000);
  registry.heartbeat('a');
  clock.advance(8000);
  t.is(registry.getInstance('a')?.health, 'HEALTHY');
  clock.advance(5000);
  t.is(registry.getInstance('a')?.health, 'UNHEALTHY');
  registry.heartbeat('a');
  t.is(registry.getInstance('a')?.health, 'HEALTHY');
  t.is(registry.getInstance('a')?.lease.expiredAt, undefined);
});

test('a held lease never expires; the ttl starts when it is released', (t) => {
  const { clock, registry } = setup();
  registry.register(echo('a', { ttl: '5s' }));
  registry.holdLease('a');
  clock.advance(60_000);
  t.is(registry.getInstance('a')?.health, 'HEALTHY');
  registry.releaseLease('a');
  clock.advance(5000);
  t.is(registry.getInstance('a')?.health, 'HEALTHY');
  clock.advance(1000);
  t.is(registry.getInstance('a')?.health, 'UNHEALTHY');
});

test('static instances have no lease and never expire', (t) => {
  const { clock, registry } = setup();
  registry.register(echo('s', { source: 'static' }));
  clock.advance(3_600_000);
  t.is(registry.getInstance('s')?.health, 'HEALTHY');
});

test('self-preservation pauses expiry when too many leases would expire at once', (t) => {
  const logs: string[] = [];
  const logger = {
    debug() {},
    info(m: string) {
      logs.push(m);
    },
    warn(m: string) {
      logs.push(m);
    },
    error() {},
    child() {
      return logger;
    },
  };
  // The renewal-rate rule is set aside (threshold 0) so this shows the per-sweep share rule alone.
  const { clock, registry } = setup({ logger, selfPreservation: { maxExpiringShare: 0.5, minInstances: 4, renewalThreshold: 0 } });
  for (let i = 0; i < 10; i++) registry.register(echo(`i${i}`, { ttl: '10s', port: 5000 + i }));
  // Six of ten keep renewing: four expiring is under half, so they expire.
  clock.advance(9000);
  for (let i = 0; i < 6; i++) registry.heartbeat(`i${i}`);
  clock.advance(2000);
  t.false(registry.selfPreservationActive);
  t.is(registry.discover({ namespace: 'demo.local', service: 'echo' }).length, 6);
  // Now all six stop at once: six of six would expire, so expiry pauses.
  clock.advance(20_000);
  t.true(registry.selfPreservationActive);
  t.is(registry.discover({ namespace: 'demo.local', service: 'echo' }).length, 6);
  t.true(logs.some((l) => l.includes('self-preservation on')));
  // The hub hears from them again: self-preservation ends.
  for (let i = 0; i < 6; i++) registry.heartbeat(`i${i}`);
  clock.advance(1000);
  t.false(registry.selfPreservationActive);
  t.true(logs.some((l) => l.includes('self-preservation off')));
});

/** Twenty leases of 10 s (removed 20 s after expiry), each renewed every 5 s, the renewals spread evenly over those 5 s. */
function staggered(opts: Partial<RegistryOptions> = {}) {
  const ctx = setup({ selfPreservation: { windowMs: 5000, minInstances: 10 }, ...opts });
  const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);
  ids.forEach((id, i) => ctx.registry.register(echo(id, { ttl: '10s', deregister_critical_after: '20s', port: 6000 + i })));
  let tick = 0;
  /** Runs `ms` of steady renewals: every 250 ms the next lease in turn renews, unless stopped. */
  const renewFor = (ms: number, stopped: (id: string) => boolean = () => false) => {
    for (let elapsed = 0; elapsed < ms; elapsed += 250) {
      ctx.clock.advance(250);
      const id = ids[tick++ % ids.length]!;
      if (!stopped(id) && ctx.registry.getInstance(id) !== undefined) ctx.registry.heartbeat(id);
    }
  };
  const present = () => ctx.registry.discover({ namespace: 'demo.local', service: 'echo', healthyOnly: false }).length;
  return { ...ctx, ids, renewFor, present };
}

test('self-preservation engages when renewals spread over time all stop (the renewal rate drops below 85%)', async (t) => {
  const { clock, registry, renewFor, present } = staggered();
  renewFor(20_000);
  t.false(registry.selfPreservationActive, 'steady renewals keep the rate at what is expected');
  t.is(present(), 20);
  // Every renewal stops. Per sweep only a few leases would run out (about four a second), never
  // more than half, so the per-sweep rule alone would let all twenty go.
  clock.advance(1000);
  clock.advance(1000);
  t.true(registry.selfPreservationActive, 'a second without 15% of the expected renewals turns it on');
  clock.advance(120_000);
  t.true(registry.selfPreservationActive);
  t.is(present(), 20, 'no lease expired while renewals were missing');
  t.is(registry.discover({ namespace: 'demo.local', service: 'echo' }).length, 20, 'all still HEALTHY');
  t.is(registry.leaseExpiries, 0);
  const gauge = await new HubMetrics(registry).register.getSingleMetricAsString('outrigger_hub_self_preservation');
  t.regex(gauge, /^outrigger_hub_self_preservation 1$/m, 'the gauge reads 1 while expiry is paused');
  // The renewals come back: after about one window the rate is back and expiry resumes.
  renewFor(10_000);
  t.false(registry.selfPreservationActive);
  t.is(present(), 20);
});

test('the renewal threshold is configurable: at 0 staggered stops expire as before', (t) => {
  const { clock, registry, renewFor, present } = staggered({ selfPreservation: { windowMs: 5000, minInstances: 10, renewalThreshold: 0 } });
  renewFor(20_000);
  clock.advance(60_000);
  t.false(registry.selfPreservationActive);
  t.is(present(), 0, 'expired a few per sweep, then removed');
});

test('with the rest renewing, a single lease that stops still expires and is removed', (t) => {
  const { registry, renewFor, present } = staggered();
  renewFor(20_000);
  renewFor(11_000, (id) => id === 's7');
  t.false(registry.selfPreservationActive);
  t.is(registry.getInstance('s7')?.health, 'UNHEALTHY', 'the lease ran out');
  t.is(registry.leaseExpiries, 1);
  renewFor(60_000, (id) => id === 's7');
  t.false(registry.selfPreservationActive);
  t.is(registry.getInstance('s7'), undefined, 'removed after deregister_critical_after');
  t.is(present(), 19);
});

test('the bunched case: leases renewed together that stop together pause expiry by the renewal rate too', (t) => {
  const { clock, registry } = setup({ selfPreservation: { windowMs: 5000, minInstances: 10, maxExpiringShare: 1 } });
  for (let i = 0; i < 20; i++) registry.register(echo(`b${i}`, { ttl: '10s', port: 7000 + i }));
  for (let round = 0; round < 4; round++) {
    clock.advance(5000);
    for (let i = 0; i < 20; i++) registry.heartbeat(`b${i}`);
  }
  t.false(registry.selfPreservationActive);
  clock.advance(60_000);
  t.true(registry.selfPreservationActive);
  t.is(registry.leaseExpiries, 0);
  t.is(registry.discover({ namespace: 'demo.local', service: 'echo' }).length, 20);
});

test('self-preservation can be turned off', (t) => {
  const { clock, registry } = setup({ selfPreservation: { enabled: false, minInstances: 1 } });
  for (let i = 0; i < 10; i++) registry.register(echo(`i${i}`, { ttl: '10s', port: 5000 + i }));
  clock.advance(11_000);
  t.false(registry.selfPreservationActive);
  t.is(registry.discover({ namespace: 'demo.local', service: 'echo' }).length, 0);
});

test('discover filters by health, version, zone, metadata and limit', (t) => {
  const { registry } = setup();
  registry.register(echo('a', { version: 'v1', zone: 'z1', metadata: { team: 'x' } }));
  registry.register(echo('b', { port: 5001, version: 'v2', zone: 'z1' }));
  registry.register(echo('c', { port: 5002, version: 'v1', zone: 'z2', health: 'UNHEALTHY' }));
  registry.register(echo('d', { port: 5003, health: 'DRAINING' }));
  const ids = (q: Parameters<Registry['discover']>[0]) => registry.discover(q).map((i) => i.id);
  t.deepEqual(ids({ service: 'echo' }), ['a', 'b']);
  t.deepEqual(ids({ service: 'echo', healthyOnly: false }), ['a', 'b', 'c', 'd']);
  t.deepEqual(ids({ service: 'echo', health: ['DRAINING'] }), ['d']);
  t.deepEqual(ids({ service: 'echo', version: 'v1', healthyOnly: false }), ['a', 'c']);
  t.deepEqual(ids({ service: 'echo', zone: 'z1' }), ['a', 'b']);
  t.deepEqual(ids({ service: 'echo', metadata: { team: 'x' } }), ['a']);
  t.deepEqual(ids({ service: 'echo', limit: 1 }), ['a']);
  t.deepEqual(ids({ service: 'echo', namespace: 'other.local' }), []);
});

test('deleting a service with live instances or a namespace with services is refused', (t) => {
  const { registry } = setup();
  registry.register(echo('a'));
  const e1 = t.throws(() => registry.deleteService('demo.local', 'echo'), { instanceOf: OutriggerError });
  t.is(e1.code, 'failed_precondition');
  t.regex(e1.message, /live instance/);
  const e2 = t.throws(() => registry.deleteNamespace('demo.local'), { instanceOf: OutriggerError });
  t.is(e2.code, 'failed_precondition');
  registry.deregister('a');
  registry.deleteService('demo.local', 'echo');
  registry.deleteNamespace('demo.local');
  t.deepEqual(registry.listNamespaces(), []);
});

test('service config is validated and defaulted', (t) => {
  const { registry } = setup();
  const svc = registry.putService('demo.local', 'echo', { lb_policy: 'least_request', circuit_breakers: { max_requests: 10 } });
  t.is(svc.config.lb_policy, 'least_request');
  t.is(svc.config.circuit_breakers.max_requests, 10);
  t.is(svc.config.circuit_breakers.max_connections, 1024);
  const err = t.throws(() => registry.putService('demo.local', 'echo', { outlier_detection: { max_ejection_percent: 150 } }), {
    instanceOf: OutriggerError,
  });
  t.is(err.field, 'config.outlier_detection.max_ejection_percent');
  t.is(registry.getService('demo.local', 'echo')?.config.lb_policy, 'least_request', 'unchanged after bad input');
});

const badInputs: Array<[string, Record<string, unknown>, string]> = [
  ['an uppercase service name', { service: 'Echo' }, 'service'],
  ['a service name with a dot', { service: 'a.b' }, 'service'],
  ['a namespace with an empty label', { namespace: 'demo..local' }, 'namespace'],
  ['an address that is neither IP nor hostname', { address: 'not an address' }, 'address'],
  ['port 0', { port: 0 }, 'port'],
  ['port 70000', { port: 70000 }, 'port'],
  ['a fractional port', { port: 80.5 }, 'port'],
  ['a missing port', { port: undefined }, 'port'],
  ['weight 0', { weight: 0 }, 'weight'],
  ['weight 1001', { weight: 1001 }, 'weight'],
  ['an unknown protocol', { protocol: 'udp' }, 'protocol'],
  ['an unknown health', { health: 'SICK' }, 'health'],
  ['a metadata value that is not a string', { metadata: { a: 1 } }, 'metadata.a'],
  ['a metadata key with a space', { metadata: { 'a b': 'x' } }, 'metadata'],
  ['too many metadata entries', { metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata'],
  ['metadata over 4 KiB', { metadata: { a: 'x'.repeat(500), b: 'x'.repeat(500), c: 'x'.repeat(500), d: 'x'.repeat(500), e: 'x'.repeat(500), f: 'x'.repeat(500), g: 'x'.repeat(500), h: 'x'.repeat(500), i: 'x'.repeat(500) } }, 'metadata'],
  ['an id with a slash', { id: 'a/b' }, 'id'],
  ['a ttl without a unit that is too short', { ttl: 0.5 }, 'ttl'],
  ['an unknown key', { colour: 'blue' }, 'colour'],
];

for (const [what, patch, field] of badInputs) {
  test(`register refuses ${what}, naming ${field}, and changes nothing`, (t) => {
    const { registry, changes } = setup();
    registry.register(echo('keep'));
    const before = registry.version;
    const err = t.throws(() => registry.register({ ...echo('new'), ...patch }), { instanceOf: OutriggerError });
    t.is(err.code, 'invalid_argument');
    t.is(err.field, field);
    t.true(err.message.startsWith(`${field}:`), err.message);
    t.is(registry.version, before);
    t.is(changes.length, 3);
    t.is(registry.getInstance('new'), undefined);
  });
}

test('unknown ids are reported as not found', (t) => {
  const { registry } = setup();
  t.is(t.throws(() => registry.deregister('nope'), { instanceOf: OutriggerError }).code, 'not_found');
  t.is(t.throws(() => registry.heartbeat('nope'), { instanceOf: OutriggerError }).code, 'not_found');
});

test('a registration cannot take over a static instance; the static one and the registry stay as they were', (t) => {
  const { registry, changes } = setup();
  const stat = registry.register(echo('fixed', { source: 'static' }));
  const before = changes.length;
  for (const source of ['self', 'kubernetes']) {
    const err = t.throws(() => registry.register(echo('fixed', { source, port: 6000 })), { instanceOf: OutriggerError });
    t.is(err?.code, 'failed_precondition');
    t.is(err?.field, 'id');
    t.regex(err?.message ?? '', /static instance/);
  }
  t.is(registry.getInstance('fixed'), stat);
  t.is(changes.length, before);
  t.is(registry.register(echo('fixed', { source: 'static', port: 6000 })).port, 6000, 'the config itself may still replace it');
});
