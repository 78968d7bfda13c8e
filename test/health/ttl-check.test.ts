import test from 'ava';
import { OutriggerError } from '../../src/common/errors.js';
import type { CheckResult } from '../../src/health/health-manager.js';
import { manualManager } from './helpers.js';

function ttlManager(extra: Record<string, unknown> = {}) {
  const m = manualManager({ type: 'ttl', ttl: '30s', ...extra });
  const results: CheckResult[] = [];
  m.manager.on('result', (r) => results.push(r));
  m.manager.start();
  return { ...m, results };
}

test('pass, warn and fail reports set the health at once', (t) => {
  const { manager, transitions } = ttlManager();
  t.is(manager.health, 'UNKNOWN');
  manager.report('pass', 'ready');
  t.is(manager.health, 'HEALTHY');
  manager.report('warn', 'cache cold');
  t.is(manager.health, 'HEALTHY', 'warn still routes');
  t.like(manager.lastResult, { status: 'warn', output: 'cache cold' });
  manager.report('fail', 'db gone');
  t.is(manager.health, 'UNHEALTHY');
  t.deepEqual(transitions.map((x) => [x.health, x.status, x.output]), [
    ['HEALTHY', 'pass', 'ready'],
    ['UNHEALTHY', 'fail', 'db gone'],
  ]);
});

test("Consul's words passing, warning and critical are understood", (t) => {
  const { manager } = ttlManager();
  t.is(manager.report('passing').status, 'pass');
  t.is(manager.report('warning').status, 'warn');
  t.is(manager.report('critical').status, 'fail');
});

test('no report within the TTL is a fail', (t) => {
  const { manager, clock, results } = ttlManager();
  manager.report('pass', 'serving 12 rps');
  clock.advance(29_999);
  t.is(results.length, 1);
  t.is(manager.health, 'HEALTHY');
  clock.advance(1);
  t.is(results.length, 2);
  t.like(manager.lastResult, { status: 'fail' });
  t.regex(manager.lastResult?.output ?? '', /TTL expired: no report within 30000ms \(last output: serving 12 rps\)/);
  t.is(manager.health, 'UNHEALTHY');
});

test('silence from the start expires too', (t) => {
  const { manager, clock } = ttlManager();
  clock.advance(30_000);
  t.is(manager.health, 'UNHEALTHY');
});

test('each report opens a new TTL window', (t) => {
  const { manager, clock, results } = ttlManager();
  clock.advance(20_000);
  manager.report('pass');
  clock.advance(20_000);
  manager.report('pass');
  clock.advance(29_000);
  t.true(results.every((r) => r.status === 'pass'));
  t.is(manager.health, 'HEALTHY');
});

test('every silent TTL counts as one more fail, so fall above 1 works', (t) => {
  const { manager, clock } = ttlManager({ fall: 2 });
  manager.report('pass');
  clock.advance(30_000);
  t.is(manager.health, 'HEALTHY');
  clock.advance(30_000);
  t.is(manager.health, 'UNHEALTHY');
  t.is(manager.stats.fails, 2);
});

test('a report with an unknown status is refused and changes nothing', (t) => {
  const { manager, results } = ttlManager();
  const err = t.throws(() => manager.report('green'), { instanceOf: OutriggerError });
  t.is(err.code, 'invalid_argument');
  t.is(err.field, 'status');
  t.regex(err.message, /pass, warn, fail/);
  t.is(results.length, 0);
  t.is(manager.health, 'UNKNOWN');
});

test('only a ttl check takes reports; a stopped one takes none', async (t) => {
  const { manager: http } = manualManager({ type: 'http', port: 1 });
  const err = t.throws(() => http.report('pass'), { instanceOf: OutriggerError });
  t.is(err.code, 'failed_precondition');

  const { manager, clock } = ttlManager();
  await manager.stop();
  t.is(clock.pending(), 0, 'the TTL timer is gone');
  t.is(t.throws(() => manager.report('pass'), { instanceOf: OutriggerError }).code, 'failed_precondition');
});
