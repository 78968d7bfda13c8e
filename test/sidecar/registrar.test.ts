import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { OutriggerError } from '../../src/common/errors.js';
import { createLogger } from '../../src/common/logger.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { Registrar, type HubRequestError } from '../../src/sidecar/registrar.js';
import { metricValue } from '../helpers/grpc-hub.js';
import { newRegistrar, registrationFor } from '../helpers/registrar-fixture.js';
import { RestartableHub, unusedAddress } from '../helpers/registrar-hub.js';
import { nextEvent, untilState } from '../helpers/registrar-wait.js';

const HEARTBEAT_MS = 5000;

async function hubWithCleanup(t: { teardown(fn: () => void): void }): Promise<RestartableHub> {
  const hub = await RestartableHub.start();
  t.teardown(() => hub.close());
  return hub;
}

const sessionRequests = (hub: RestartableHub, route: string, code = 'OK'): Promise<number> =>
  metricValue(hub.metrics.requests, { api: 'grpc', route: `Session.${route}`, code });

test('registers with the lease held, sends health changes at once and heartbeats on the clock', async (t) => {
  const hub = await hubWithCleanup(t);
  const clock = new ManualClock();
  const registrar = newRegistrar(t, {
    hubs: [hub.address],
    clock,
    heartbeatIntervalMs: HEARTBEAT_MS,
    registration: registrationFor('pod-1', { weight: 7, metadata: { team: 'payments' }, zone: 'zone-a' }),
  });
  const registered = nextEvent(registrar, 'registered');
  registrar.start();
  t.is(registrar.state, 'connecting');
  const [ack, where] = await registered;
  t.is(where, hub.address);
  t.is(registrar.state, 'registered');
  t.true(ack.lease?.held);

  const inst = hub.registry.getInstance('pod-1')!;
  t.like(inst, { service: 'echo', namespace: 'demo.local', port: 8080, weight: 7, zone: 'zone-a', health: 'UNKNOWN', source: 'self' });
  t.deepEqual(inst.metadata, { team: 'payments' });
  t.like(inst.lease, { held: true, ttlMs: 10_000 });
  t.like(registrar.stats, { attempts: 1, connects: 1, reconnects: 0, heartbeats: 0, currentHub: hub.address, registeredAt: clock.now() });

  // The clock has not moved: a health change goes out at once, not with the next heartbeat.
  const healthy = nextEvent(registrar, 'ack', (kind) => kind === 'report_health');
  registrar.setHealth('HEALTHY');
  t.is((await healthy)[1].health, 'HEALTHY');
  t.is(hub.registry.getInstance('pod-1')!.health, 'HEALTHY');
  registrar.setHealth('HEALTHY');
  t.is(await sessionRequests(hub, 'heartbeat'), 0);

  for (let n = 1; n <= 3; n++) {
    const beat = nextEvent(registrar, 'ack', (kind) => kind === 'heartbeat');
    clock.advance(HEARTBEAT_MS);
    await beat;
    t.is(await sessionRequests(hub, 'heartbeat'), n);
  }
  t.is(registrar.stats.heartbeats, 3);

  const sick = nextEvent(registrar, 'ack', (kind) => kind === 'report_health');
  registrar.setHealth('UNHEALTHY');
  await sick;
  t.is(hub.registry.getInstance('pod-1')!.health, 'UNHEALTHY');
  t.is(await sessionRequests(hub, 'report_health'), 2, 'a repeated health is not sent again');
  t.is(hub.registry.instanceCount, 1);
});

test('drain() resolves once DRAINING is at the hub; deregister() removes the instance and stops', async (t) => {
  const hub = await hubWithCleanup(t);
  const clock = new ManualClock();
  const registrar = newRegistrar(t, { hubs: [hub.address], clock, heartbeatIntervalMs: HEARTBEAT_MS });
  registrar.start();
  await untilState(registrar, 'registered');

  const order: string[] = [];
  hub.registry.subscribe((c) => {
    if (c.kind === 'instance') order.push(`${c.op} ${c.instance.health}`);
  });
  await registrar.drain().then(() => order.push('drain resolved'));
  t.deepEqual(order, ['upsert DRAINING', 'drain resolved']);
  t.like(hub.registry.getInstance('pod-1'), { health: 'DRAINING', lease: { held: true } });
  t.is(registrar.health, 'DRAINING');

  // A health check passing now must not put a draining instance back into rotation.
  registrar.setHealth('HEALTHY');
  const beat = nextEvent(registrar, 'ack', (kind) => kind === 'heartbeat');
  clock.advance(HEARTBEAT_MS);
  t.is((await beat)[1].health, 'DRAINING');
  t.is(hub.registry.getInstance('pod-1')!.health, 'DRAINING');

  await registrar.deregister();
  t.is(hub.registry.getInstance('pod-1'), undefined);
  t.is(registrar.state, 'stopped');
  t.is(clock.pending(), 0, 'no timer left behind');
  t.is(registrar.stats.currentHub, undefined);
});

test('a registration the hub rejects is logged with its field and retried only after a growing backoff', async (t) => {
  const hub = await hubWithCleanup(t);
  const clock = new ManualClock();
  const lines: string[] = [];
  const registrar = newRegistrar(t, {
    hubs: [hub.address],
    clock,
    registration: registrationFor('pod-bad', { port: 70_000 }),
    backoff: { random: () => 0.5 },
    logger: createLogger('warn', {}, { write: (line) => lines.push(line) }),
  });
  const delays: number[] = [];
  const errors: HubRequestError[] = [];
  registrar.on('disconnected', (_reason, retryInMs) => delays.push(retryInMs));
  registrar.on('hubError', (e) => errors.push(e));

  const first = nextEvent(registrar, 'disconnected');
  registrar.start();
  await first;
  t.like(errors[0], { request: 'register', hub: hub.address, grpcCode: grpc.status.INVALID_ARGUMENT, code: 'invalid_argument', field: 'port' });
  t.is(registrar.state, 'backoff');
  t.regex(registrar.stats.lastError ?? '', /register: invalid_argument \(field port\)/);
  t.is(clock.pending(), 1, 'only the backoff timer waits: nothing retries before it fires');
  const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'the hub rejected a session request');
  t.like(logged, { level: 'warn', request: 'register', field: 'port', code: 'invalid_argument' });

  // Full jitter with random() = 0.5 waits half of 250, 500, 1000 ms: each retry waits longer.
  for (let n = 2; n <= 3; n++) {
    const next = nextEvent(registrar, 'disconnected');
    clock.advance(delays.at(-1)!);
    await next;
  }
  t.deepEqual(delays, [125, 250, 500]);
  t.is(await sessionRequests(hub, 'register', 'INVALID_ARGUMENT'), 3);
  t.like(registrar.stats, { attempts: 3, connects: 0 });
  t.is(hub.registry.instanceCount, 0);
});

test('drain() and deregister() give up after their bound when no hub is reachable', async (t) => {
  const clock = new ManualClock();
  const registrar = newRegistrar(t, { hubs: [await unusedAddress()], clock, backoff: { random: () => 0.5 } });
  const down = nextEvent(registrar, 'disconnected');
  registrar.start();
  const [reason] = await down;
  t.regex(reason, /^UNAVAILABLE/);
  t.is(registrar.state, 'backoff');

  const drained = registrar.drain(2000);
  t.is(registrar.state, 'connecting', 'drain tries a hub at once instead of waiting out the backoff');
  clock.advance(2000);
  const drainErr = await t.throwsAsync(drained, { instanceOf: OutriggerError });
  t.is(drainErr?.code, 'unavailable');

  const gone = registrar.deregister(2000);
  clock.advance(2000);
  const deregisterErr = await t.throwsAsync(gone, { instanceOf: OutriggerError });
  t.is(deregisterErr?.code, 'unavailable');
  t.is(registrar.state, 'stopped');
  t.is(clock.pending(), 0);
});

test('options are checked when the registrar is made', (t) => {
  const base = { hubs: ['127.0.0.1:15010'], registration: registrationFor('pod-1'), heartbeatIntervalMs: 1000 };
  const noId = t.throws(() => new Registrar({ ...base, registration: registrationFor('') }), { instanceOf: OutriggerError });
  t.like(noId, { code: 'config_invalid', field: 'registration.id' });
  t.like(t.throws(() => new Registrar({ ...base, hubs: [] })), { field: 'hubs' });
  t.like(t.throws(() => new Registrar({ ...base, heartbeatIntervalMs: 0 })), { field: 'heartbeatIntervalMs' });
  const registrar = new Registrar(base);
  t.like(t.throws(() => registrar.setHealth('DRAINING' as never)), { code: 'invalid_argument', field: 'health' });
  registrar.stop();
  t.throws(() => registrar.start(), { instanceOf: OutriggerError });
});
