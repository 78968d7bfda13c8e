import { fileURLToPath } from 'node:url';
import test from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import { runToExit } from '../helpers/child-exit.js';
import { WAIT_MS } from '../helpers/grpc-hub.js';
import { newRegistrar } from '../helpers/registrar-fixture.js';
import { RestartableHub } from '../helpers/registrar-hub.js';
import { untilState } from '../helpers/registrar-wait.js';
import { until } from '../helpers/wait.js';

test('stop() closes the session without deregistering: the lease is released and the TTL runs; no timer is left', async (t) => {
  const hub = await RestartableHub.start();
  t.teardown(() => hub.close());
  const clock = new ManualClock();
  const registrar = newRegistrar(t, { hubs: [hub.address], clock });
  registrar.start();
  await untilState(registrar, 'registered');
  t.true(clock.pending() > 0);

  registrar.stop();
  t.is(registrar.state, 'stopped');
  t.is(clock.pending(), 0);
  t.like(registrar.stats, { currentHub: undefined, registeredAt: undefined });
  await until('the hub to release the lease', () => hub.registry.getInstance('pod-1')?.lease.held === false, WAIT_MS);
  t.is(hub.registry.getInstance('pod-1')?.health, 'UNKNOWN', 'still registered until the TTL runs out');
  hub.clock.advance(10_000 + 1000);
  t.is(hub.registry.getInstance('pod-1')?.health, 'UNHEALTHY');
  registrar.setHealth('HEALTHY');
  t.is(clock.pending(), 0, 'a stopped registrar stays quiet');
});

for (const mode of ['stop', 'deregister'] as const) {
  test(`after ${mode}() the process exits by itself`, async (t) => {
    const hub = await RestartableHub.start();
    t.teardown(() => hub.close());
    const script = fileURLToPath(new URL('../helpers/registrar-exit-child.js', import.meta.url));
    const { code, signal, out } = await runToExit(script, [hub.address, mode], 2 * WAIT_MS);
    t.is(signal, null, `the process had to be killed; it printed: ${out}`);
    t.is(code, 0, out);
    t.is(out.trim(), `${mode}: stopped`);
    if (mode === 'stop') {
      await until('the hub to release the lease', () => hub.registry.getInstance('pod-stop')?.lease.held === false, WAIT_MS);
      t.is(hub.registry.getInstance('pod-stop')?.health, 'HEALTHY');
    } else {
      t.is(hub.registry.getInstance('pod-deregister'), undefined);
    }
  });
}
