import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { OutriggerError } from '../../src/common/errors.js';
import type { CheckResult } from '../../src/health/health-manager.js';
import { runToExit } from '../helpers/child-exit.js';
import { nextEvent } from '../helpers/wait.js';
import { closeServer, listen, manualManager, step, WAIT_MS } from './helpers.js';

/** When the probe behind a result started, on the manager's clock. */
const startedAt = (r: CheckResult): number => r.at - r.durationMs;

async function tcpListener(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((s) => s.end());
  return { server, port: await listen(server) };
}

async function closedPort(): Promise<number> {
  const { server, port } = await tcpListener();
  await closeServer(server);
  return port;
}

/** An HTTP app that holds every request until the test answers it. */
async function holdingApp() {
  const held: http.ServerResponse[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const server = http.createServer((_req, res) => {
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    res.on('close', () => concurrent--);
    held.push(res);
  });
  const port = await listen(server);
  return {
    server,
    port,
    held,
    get maxConcurrent() {
      return maxConcurrent;
    },
    close() {
      for (const r of held) r.destroy();
      return closeServer(server);
    },
  };
}

test('jitter adds a random share of the interval to each wait, from the injected source', async (t) => {
  const { server, port } = await tcpListener();
  t.teardown(() => closeServer(server));
  const draws = [0.5, 0.25, 0];
  const { manager, clock } = manualManager({ type: 'tcp', port, interval: '1s', jitter: 0.2 }, { random: () => draws.shift() ?? 0 });
  t.teardown(() => manager.stop());
  const t0 = clock.now();
  manager.start();
  const a = await step(manager, clock, 100);
  t.is(startedAt(a), t0 + 100, 'first probe after 0.5 × 20% of 1s');
  const b = await step(manager, clock, 1050);
  t.is(startedAt(b), t0 + 100 + 1050, 'then the interval plus 0.25 × 20% of it');
  const c = await step(manager, clock, 1000);
  t.is(startedAt(c), t0 + 100 + 1050 + 1000);
});

test('without jitter the first probe runs at once and then every interval after the last one ended', async (t) => {
  const { server, port } = await tcpListener();
  t.teardown(() => closeServer(server));
  const { manager, clock } = manualManager({ type: 'tcp', port, interval: '5s' });
  t.teardown(() => manager.stop());
  const t0 = clock.now();
  manager.start();
  t.is(startedAt(await step(manager, clock, 0)), t0);
  t.is(startedAt(await step(manager, clock, 5000)), t0 + 5000);
});

test('initial_status healthy: routable from the start, until `fall` fails', async (t) => {
  const port = await closedPort();
  const { manager, clock, transitions } = manualManager({ type: 'tcp', port, interval: '1s', initial_status: 'healthy', fall: 3 });
  t.teardown(() => manager.stop());
  t.is(manager.health, 'HEALTHY');
  t.true(manager.routable);
  manager.start();
  await step(manager, clock, 0);
  await step(manager, clock, 1000);
  t.is(manager.health, 'HEALTHY');
  const r = await step(manager, clock, 1000);
  t.regex(r.output, /ECONNREFUSED/);
  t.is(manager.health, 'UNHEALTHY');
  t.deepEqual(transitions.map((x) => [x.previous, x.health]), [['HEALTHY', 'UNHEALTHY']]);
});

test('an UNKNOWN instance that keeps failing becomes UNHEALTHY after `fall` fails', async (t) => {
  const port = await closedPort();
  const { manager, clock } = manualManager({ type: 'tcp', port, interval: '1s', fall: 2 });
  t.teardown(() => manager.stop());
  manager.start();
  await step(manager, clock, 0);
  t.is(manager.health, 'UNKNOWN');
  await step(manager, clock, 1000);
  t.is(manager.health, 'UNHEALTHY');
  t.false(manager.routable);
});

test('a timed-out probe is aborted, and the next one starts an interval after it ended, never alongside', async (t) => {
  const app = await holdingApp();
  t.teardown(() => app.close());
  const { manager, clock } = manualManager({ type: 'http', port: app.port, interval: '1s', timeout: '3s' });
  t.teardown(() => manager.stop());
  const t0 = clock.now();
  manager.start();
  const first = nextEvent(app.server, 'request');
  clock.advance(0);
  await first;
  const timedOut = await step(manager, clock, 3000);
  t.true(timedOut.timedOut);
  t.is(startedAt(timedOut), t0);

  const second = nextEvent(app.server, 'request');
  const result = nextEvent<[CheckResult]>(manager, 'result');
  clock.advance(1000);
  await second;
  app.held[1]?.end();
  const [r] = await result;
  t.is(r.status, 'pass');
  t.is(startedAt(r), t0 + 3000 + 1000);
  t.is(app.maxConcurrent, 1);
  t.like(manager.stats, { probes: 2, timeouts: 1, fails: 1, passes: 1 });
});

test('stop() aborts the probe in flight, leaves no timer and emits nothing more', async (t) => {
  const app = await holdingApp();
  t.teardown(() => app.close());
  const { manager, clock } = manualManager({ type: 'http', port: app.port, interval: '1s', timeout: '1m' });
  let results = 0;
  manager.on('result', () => results++);
  manager.start();
  t.true(manager.running);
  const arrived = nextEvent<[http.IncomingMessage]>(app.server, 'request');
  clock.advance(0);
  const [req] = await arrived;
  const hungUp = nextEvent(req.socket, 'close');

  await manager.stop();
  t.false(manager.running);
  t.is(clock.pending(), 0, 'no timer is left');
  await hungUp;
  clock.advance(60_000);
  t.is(results, 0, 'the aborted probe is not recorded');
  t.is(manager.health, 'UNKNOWN');
  await manager.stop(); // stopping twice is harmless
  const err = t.throws(() => manager.start(), { instanceOf: OutriggerError });
  t.is(err.code, 'failed_precondition');
});

test('a listener that throws does not break the schedule', async (t) => {
  const { server, port } = await tcpListener();
  t.teardown(() => closeServer(server));
  const { manager, clock } = manualManager({ type: 'tcp', port, interval: '1s', rise: 1 });
  t.teardown(() => manager.stop());
  manager.on('transition', () => {
    throw new Error('listener bug');
  });
  manager.start();
  await step(manager, clock, 0);
  t.is(manager.health, 'HEALTHY');
  const r = await step(manager, clock, 1000);
  t.is(r.status, 'pass');
});

test('stats count probes, outcomes and durations for metrics', async (t) => {
  const app = await holdingApp();
  t.teardown(() => app.close());
  const { manager, clock } = manualManager({ type: 'http', port: app.port, interval: '1s', timeout: '5s' });
  t.teardown(() => manager.stop());
  t.like(manager.stats, { probes: 0, lastDurationMs: undefined });
  manager.start();
  const arrived = nextEvent(app.server, 'request');
  clock.advance(0);
  await arrived;
  clock.advance(250); // the app takes 250ms (on the manager's clock) to answer
  const result = nextEvent<[CheckResult]>(manager, 'result');
  app.held[0]?.end();
  const [r] = await result;
  t.is(r.durationMs, 250);
  t.like(manager.stats, { probes: 1, passes: 1, lastDurationMs: 250, totalDurationMs: 250, consecutivePasses: 1 });
  const snapshot = manager.stats;
  snapshot.probes = 99;
  t.is(manager.stats.probes, 1, 'stats is a copy');
});

test('a missing port is a config error naming the field', (t) => {
  const err = t.throws(() => manualManager({ type: 'tcp' }), { instanceOf: OutriggerError });
  t.is(err.code, 'config_invalid');
  t.is(err.field, 'health_check.port');
});

test('stopped checks of every type let the process exit on its own', async (t) => {
  const fixture = fileURLToPath(new URL('./fixtures/run-and-stop.js', import.meta.url));
  const { code, signal, out } = await runToExit(fixture, [], 2 * WAIT_MS);
  t.is(signal, null, `the process had to be killed; it printed: ${out}`);
  t.is(code, 0, out);
  t.regex(out, /all checks healthy: http, tcp, grpc, exec, ttl/);
  t.regex(out, /stopped/);
});
