import test from 'ava';
import { NAMESPACE, SERVICE, newRegistrar } from '../helpers/registrar-fixture.js';
import { RestartableHub, unusedAddress } from '../helpers/registrar-hub.js';
import { nextEvent, untilState } from '../helpers/registrar-wait.js';

// Real time here: the hub really goes away and comes back. A small backoff keeps it quick.
const BACKOFF = { initialMs: 50, maxMs: 500 };

test('a hub restarted on the same port with an empty registry is refilled: one instance, same id, current health', async (t) => {
  const hub = await RestartableHub.start();
  t.teardown(() => hub.close());
  const registrar = newRegistrar(t, { hubs: [hub.address], backoff: BACKOFF });
  registrar.start();
  await untilState(registrar, 'registered');
  const healthy = nextEvent(registrar, 'ack', (kind) => kind === 'report_health');
  registrar.setHealth('HEALTHY');
  await healthy;

  const lost = nextEvent(registrar, 'disconnected');
  hub.down();
  await lost;
  // Changed while no hub is there: remembered, and asserted by the re-registration.
  registrar.setHealth('UNHEALTHY');

  const back = nextEvent(registrar, 'registered');
  await hub.up();
  const [ack, where] = await back;
  t.is(where, hub.address);
  t.is(ack.reported_health, 'UNHEALTHY');
  t.is(hub.registry.instanceCount, 1);
  t.deepEqual(hub.registry.instancesOf(NAMESPACE, SERVICE).map((i) => i.id), ['pod-1']);
  t.like(hub.registry.getInstance('pod-1'), { health: 'UNHEALTHY', lease: { held: true } });
  t.like(registrar.stats, { connects: 2, reconnects: 1 });
});

test('fail-over: a dead first hub is skipped, and losing a hub moves the session to the next one', async (t) => {
  const a = await RestartableHub.start();
  const b = await RestartableHub.start();
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  const dead = await unusedAddress();
  const registrar = newRegistrar(t, { hubs: [dead, a.address, b.address], backoff: BACKOFF });

  const first = nextEvent(registrar, 'registered');
  registrar.start();
  t.is((await first)[1], a.address);
  t.like(registrar.stats, { attempts: 2, currentHub: a.address });
  t.regex(registrar.stats.lastError ?? '', /^UNAVAILABLE/, 'the dead hub was tried first');
  t.true(a.registry.getInstance('pod-1')?.lease.held);

  const second = nextEvent(registrar, 'registered');
  a.down();
  t.is((await second)[1], b.address);
  t.is(b.registry.instanceCount, 1);
  t.like(b.registry.getInstance('pod-1'), { health: 'UNKNOWN', lease: { held: true } });
  t.like(registrar.stats, { connects: 2, reconnects: 1, currentHub: b.address });
});
