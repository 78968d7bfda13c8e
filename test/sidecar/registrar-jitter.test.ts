import test from 'ava';
import { NAMESPACE, SERVICE, newRegistrar, registrationFor } from '../helpers/registrar-fixture.js';
import { RestartableHub } from '../helpers/registrar-hub.js';
import { nextEvent, untilState } from '../helpers/registrar-wait.js';

const SIDECARS = 100;
/** Ceiling of the first retry's delay after the drop. */
const JITTER_MS = 4000;

test('a crowd of registrars comes back spread out after a hub restart, one instance each', async (t) => {
  const hub = await RestartableHub.start();
  t.teardown(() => hub.close());
  const ids = Array.from({ length: SIDECARS }, (_, i) => `pod-${String(i).padStart(3, '0')}`);
  const registrars = ids.map((id) =>
    newRegistrar(t, {
      hubs: [hub.address],
      registration: registrationFor(id),
      heartbeatIntervalMs: 10_000,
      // Math.random for the jitter: the first retry after the drop waits uniformly in
      // [0, JITTER_MS). See the assertions below for why the window is 4 s and not 1 s.
      backoff: { initialMs: JITTER_MS, maxMs: 2 * JITTER_MS },
    }),
  );
  for (const r of registrars) r.start();
  await Promise.all(registrars.map((r) => untilState(r, 'registered')));
  t.is(hub.registry.instanceCount, SIDECARS);

  const back = Promise.all(registrars.map((r) => nextEvent(r, 'registered')));
  hub.down();
  await hub.up();
  await hub.untilArrivals(SIDECARS);
  await back;

  // For n independent delays uniform on a window, the chance that all fall within a fraction w
  // of it is P(range <= w) = n*w^(n-1) - (n-1)*w^n. Registrars whose first retry found the hub
  // still down retry later, which only widens the spread.
  //  - The spread is > 100 ms: w = 100/4000 = 0.025, P(fail) ~ 100 * 0.025^99, below 1e-155.
  //  - The spread is > half the window: w = 0.5, P(fail) = 101 * 0.5^100, about 8e-29. This is the
  //    assertion that tells jitter from none: without jitter, setting up 100 connections at once
  //    on a 2-core machine alone spread the arrivals over 0.35 to 1.4 s (measured), past 100 ms.
  const arrivals = [...hub.arrivals.values()];
  const spread = Math.max(...arrivals) - Math.min(...arrivals);
  t.true(spread > 100, `re-registrations arrived within ${spread.toFixed(1)} ms of each other`);
  t.true(spread > JITTER_MS / 2, `re-registrations arrived within ${spread.toFixed(1)} ms of each other`);
  t.is(hub.registry.instanceCount, SIDECARS);
  t.deepEqual(hub.registry.instancesOf(NAMESPACE, SERVICE).map((i) => i.id).sort(), ids);
  for (const r of registrars) t.like(r.stats, { connects: 2, reconnects: 1 });
});
