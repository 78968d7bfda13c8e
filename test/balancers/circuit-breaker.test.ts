import test from 'ava';
import { CircuitBreaker, RESOURCES } from '../../src/balancers/circuit-breaker.js';
import { RetryBudget } from '../../src/balancers/retry-budget.js';
import { DEFAULT_SERVICE_CONFIG } from '../../src/model/service-config.js';

test('each resource admits up to its threshold, then overflows until a release', (t) => {
  const cb = new CircuitBreaker({ max_connections: 2, max_pending_requests: 3, max_requests: 4, max_retries: 1 });
  const limits = { connections: 2, pending_requests: 3, requests: 4, retries: 1 } as const;
  for (const r of RESOURCES) {
    for (let i = 0; i < limits[r]; i++) t.true(cb.tryAcquire(r), `${r} #${i + 1}`);
    t.true(cb.isOpen(r), `${r} open at the limit`);
    t.false(cb.tryAcquire(r));
    t.false(cb.tryAcquire(r));
    t.deepEqual(cb.state(r), { active: limits[r], limit: limits[r], open: true, overflows: 2 });
    cb.release(r);
    t.false(cb.isOpen(r));
    t.true(cb.tryAcquire(r));
  }
});

test('resources are independent, and releases never go below zero', (t) => {
  const cb = new CircuitBreaker({ max_requests: 1 });
  t.true(cb.tryAcquire('requests'));
  t.false(cb.tryAcquire('requests'));
  t.true(cb.tryAcquire('connections'), 'a full request pool does not block connections');
  t.true(cb.open);
  cb.release('requests');
  cb.release('requests');
  cb.release('requests');
  t.is(cb.activeCount('requests'), 0);
  t.true(cb.tryAcquire('requests'));
  t.false(cb.tryAcquire('requests'), 'still one at a time after extra releases');
});

test('the breaker reads as closed when nothing is at its limit; the snapshot shows every resource', (t) => {
  const cb = new CircuitBreaker();
  t.false(cb.open);
  const snap = cb.snapshot();
  t.deepEqual(Object.keys(snap), [...RESOURCES]);
  t.deepEqual(snap.requests, { active: 0, limit: 1024, open: false, overflows: 0 });
  t.deepEqual(snap.retries, { active: 0, limit: 3, open: false, overflows: 0 });
});

test('new thresholds apply to the requests already in flight', (t) => {
  const cb = new CircuitBreaker({ max_requests: 10 });
  for (let i = 0; i < 5; i++) cb.tryAcquire('requests');
  cb.update({ max_requests: 5 });
  t.true(cb.isOpen('requests'));
  t.false(cb.tryAcquire('requests'));
  cb.update({ max_requests: 6 });
  t.true(cb.tryAcquire('requests'));
});

test('with a retry budget, the retry limit follows active and pending requests', (t) => {
  const cb = new CircuitBreaker({ max_retries: 1 }, new RetryBudget({ budget_percent: 20, min_retry_concurrency: 2 }));
  t.is(cb.limit('retries'), 2, 'the floor with nothing in flight');
  for (let i = 0; i < 40; i++) cb.tryAcquire('requests');
  for (let i = 0; i < 10; i++) cb.tryAcquire('pending_requests');
  t.is(cb.limit('retries'), 10, '20% of 50');
  let admitted = 0;
  while (cb.tryAcquire('retries')) admitted++;
  t.is(admitted, 10);
  for (let i = 0; i < 40; i++) cb.release('requests');
  t.true(cb.isOpen('retries'), 'load went down: the retries in flight are now over budget');
});

test('the service config thresholds are accepted as they are', (t) => {
  const cb = new CircuitBreaker(DEFAULT_SERVICE_CONFIG.circuit_breakers, new RetryBudget(DEFAULT_SERVICE_CONFIG.retry));
  t.is(cb.limit('connections'), DEFAULT_SERVICE_CONFIG.circuit_breakers.max_connections);
  t.is(cb.limit('retries'), DEFAULT_SERVICE_CONFIG.retry.min_retry_concurrency);
});
