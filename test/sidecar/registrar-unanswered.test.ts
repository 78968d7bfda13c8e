import test from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import type { SessionRequest } from '../../src/wire/messages.js';
import { startFakeHub } from '../helpers/registrar-fake-hub.js';
import { newRegistrar } from '../helpers/registrar-fixture.js';
import { nextEvent, untilState } from '../helpers/registrar-wait.js';

const ACK_TIMEOUT_MS = 3000;
const HEARTBEAT_MS = 1000;
const count = (requests: SessionRequest[], kind: SessionRequest['request']): number => requests.filter((r) => r.request === kind).length;

test('a heartbeat the hub never answers counts as a lost hub: the session is dropped and a new one registers', async (t) => {
  // Answers registrations, then goes quiet: a hub that holds the connection but is stuck.
  const fake = await startFakeHub((req) =>
    req.register !== undefined ? { instance: { id: req.register.id, reported_health: req.register.health, lease: { held: true } } } : undefined,
  );
  t.teardown(() => fake.close());
  const clock = new ManualClock();
  const registrar = newRegistrar(t, {
    hubs: [fake.address],
    clock,
    heartbeatIntervalMs: HEARTBEAT_MS,
    ackTimeoutMs: ACK_TIMEOUT_MS,
    backoff: { random: () => 0.5 },
  });
  registrar.start();
  await untilState(registrar, 'registered');

  clock.advance(HEARTBEAT_MS);
  await fake.until('the first heartbeat', () => count(fake.requests, 'heartbeat') === 1);
  t.is(registrar.state, 'registered');

  const lost = nextEvent(registrar, 'disconnected');
  clock.advance(ACK_TIMEOUT_MS);
  const [reason, retryInMs] = await lost;
  t.is(reason, `the hub did not answer heartbeat within ${ACK_TIMEOUT_MS} ms`);
  t.is(retryInMs, 125, 'the backoff starts afresh after a registration');
  t.is(registrar.state, 'backoff');
  await fake.until('the stuck session to be closed by the registrar', () => fake.sessionsEnded === 1);

  const again = nextEvent(registrar, 'registered');
  clock.advance(retryInMs);
  await again;
  t.like(registrar.stats, { attempts: 2, connects: 2, reconnects: 1 });
  t.is(fake.sessionsOpened, 2);
  t.is(count(fake.requests, 'register'), 2);
});

test('a registration the hub never answers (a connect that hangs) is abandoned after the ack bound', async (t) => {
  const fake = await startFakeHub(() => undefined);
  t.teardown(() => fake.close());
  const clock = new ManualClock();
  const registrar = newRegistrar(t, { hubs: [fake.address], clock, ackTimeoutMs: ACK_TIMEOUT_MS, backoff: { random: () => 0.5 } });
  registrar.start();
  await fake.until('the registration to arrive', () => count(fake.requests, 'register') === 1);
  t.is(registrar.state, 'connecting');

  const lost = nextEvent(registrar, 'disconnected');
  clock.advance(ACK_TIMEOUT_MS);
  const [reason, retryInMs] = await lost;
  t.is(reason, `the hub did not answer register within ${ACK_TIMEOUT_MS} ms`);
  t.is(retryInMs, 125);
  t.is(registrar.stats.connects, 0);
  await fake.until('the session to be closed', () => fake.sessionsEnded === 1);

  registrar.stop();
  t.is(clock.pending(), 0);
});
