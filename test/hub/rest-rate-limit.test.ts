import test from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import { TokenBucketLimiter } from '../../src/common/rate-limit.js';
import { registrySnapshot } from '../helpers/http-registry-snapshot.js';
import { call, startRestServer } from '../helpers/http-rest-server.js';

test('write routes over the rate get 429 with Retry-After; reads are never limited', async (t) => {
  const server = await startRestServer({ rateLimit: { requestsPerSecond: 0.5, burst: 2 } });
  t.teardown(() => server.close());
  const ns = (name: string) => call(server, 'POST', '/api/v1/namespaces', { name });

  t.is((await ns('one.local')).status, 201);
  t.is((await ns('two.local')).status, 201);
  const before = registrySnapshot(server.registry);
  const limited = await ns('three.local');
  t.is(limited.status, 429);
  t.is(limited.headers.get('retry-after'), '2', 'one token takes 2s at 0.5/s');
  t.is(limited.json.error.code, 'rate_limited');
  t.deepEqual(registrySnapshot(server.registry), before, 'a limited request changes nothing');
  t.is((await call(server, 'DELETE', '/api/v1/namespaces/one.local')).status, 429, 'every write method counts');

  for (let i = 0; i < 5; i++) t.is((await call(server, 'GET', '/api/v1/namespaces')).status, 200);

  server.clock.advance(1000);
  const half = await ns('three.local');
  t.is(half.status, 429);
  t.is(half.headers.get('retry-after'), '1');
  server.clock.advance(1000);
  t.is((await ns('three.local')).status, 201, 'a token is back after 2s');
  t.is((await ns('four.local')).status, 429);

  const metric = await server.metrics.requests.get();
  const limitedCount = metric.values.filter((v) => v.labels.code === '429').reduce((s, v) => s + v.value, 0);
  t.is(limitedCount, 4);
});

test('unknown routes and 405s are not rate limited', async (t) => {
  const server = await startRestServer({ rateLimit: { requestsPerSecond: 1, burst: 1 } });
  t.teardown(() => server.close());
  t.is((await call(server, 'POST', '/nowhere', {})).status, 404);
  t.is((await call(server, 'POST', '/health', {})).status, 405);
  t.is((await call(server, 'POST', '/api/v1/namespaces', { name: 'a.local' })).status, 201);
  t.is((await call(server, 'POST', '/api/v1/namespaces', { name: 'b.local' })).status, 429);
});

test('the token bucket keeps one bucket per client and refills through the clock', (t) => {
  const clock = new ManualClock();
  const limiter = new TokenBucketLimiter(clock, { requestsPerSecond: 10, burst: 3 });
  for (let i = 0; i < 3; i++) t.true(limiter.take('10.0.0.1').allowed);
  t.deepEqual(limiter.take('10.0.0.1'), { allowed: false, retryAfterMs: 100 });
  t.true(limiter.take('10.0.0.2').allowed, 'another client has its own bucket');
  clock.advance(50);
  t.deepEqual(limiter.take('10.0.0.1'), { allowed: false, retryAfterMs: 50 });
  clock.advance(50);
  t.true(limiter.take('10.0.0.1').allowed);
  clock.advance(60_000);
  for (let i = 0; i < 3; i++) t.true(limiter.take('10.0.0.1').allowed, 'the bucket never holds more than the burst');
  t.false(limiter.take('10.0.0.1').allowed);
});

test('the token bucket forgets the least recently seen clients beyond its cap', (t) => {
  const clock = new ManualClock();
  const limiter = new TokenBucketLimiter(clock, { requestsPerSecond: 1, burst: 1 }, 2);
  t.true(limiter.take('a').allowed);
  t.true(limiter.take('b').allowed);
  t.false(limiter.take('a').allowed);
  t.true(limiter.take('c').allowed);
  t.is(limiter.size, 2);
  t.true(limiter.take('b').allowed, 'b was the least recently seen, so it was forgotten');
  t.throws(() => new TokenBucketLimiter(clock, { requestsPerSecond: 0, burst: 1 }), { instanceOf: RangeError });
  t.throws(() => new TokenBucketLimiter(clock, { requestsPerSecond: 1, burst: 0 }), { instanceOf: RangeError });
});

test('a batch registration counts as its items against the write limit; one larger than the burst is admitted and later writes wait it out', async (t) => {
  const server = await startRestServer({ rateLimit: { requestsPerSecond: 1, burst: 4 } });
  t.teardown(() => server.close());
  const item = (id: string) => ({ id, name: 'api', namespace: 'batch.local', address: '10.0.0.1', port: 8080, ttl: 0 });
  const batch = (ids: string[]) => call(server, 'POST', '/api/v1/services:batch', { items: ids.map(item) });
  const single = (id: string) => call(server, 'POST', '/api/v1/services', item(id));

  t.is((await batch(['a', 'b', 'c'])).status, 200, 'three of the four writes in hand');
  t.is((await single('d')).status, 201, 'the fourth');
  const limited = await single('e');
  t.is(limited.status, 429);
  t.is(limited.headers.get('retry-after'), '1');

  server.clock.advance(1000);
  const big = await batch(Array.from({ length: 10 }, (_, i) => `big-${i}`));
  t.is(big.status, 200, 'one write in hand admits a batch, even one larger than the burst');
  t.is(big.json.data.registered, 10);
  const after = await single('f');
  t.is(after.status, 429);
  t.is(after.headers.get('retry-after'), '10', 'the other nine writes of the batch are paid back first');
  server.clock.advance(10_000);
  t.is((await single('f')).status, 201);
});
