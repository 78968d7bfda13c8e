import type { ServerResponse } from 'node:http';
import test from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import { answerName, closedPort, counts, send, startBackends } from '../helpers/proxy-backends.js';
import { endpointsOf, startProxy } from '../helpers/proxy-fixture.js';
import { until } from '../helpers/wait.js';

const NO_OUTLIERS = { enabled: false } as const;

test('an endpoint returning 5xx is ejected, then readmitted when its ejection time is over', async (t) => {
  const backends = await startBackends(3);
  const bad = backends[0]!;
  bad.handler = (_req, res) => {
    res.statusCode = 500;
    res.end('broken');
  };
  // The ejection ends only when the test moves this clock: however slow the machine, the ten
  // requests below all fall inside it.
  const clock = new ManualClock();
  const fx = await startProxy(
    {
      'echo.demo.local': {
        config: {
          outlier_detection: { consecutive_5xx: 3, interval_ms: 100, base_ejection_time_ms: 400, max_ejection_percent: 50 },
          retry: { num_retries: 0 },
        },
        endpoints: endpointsOf(backends),
      },
    },
    { extra: { clock } },
  );
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const b0 = () => fx.proxy.describeClusters()[0]?.endpoints.find((e) => e.id === 'b0');
  const stateOf = () => b0()?.outlier_state;
  await until('b0 to be ejected', async () => {
    await send(fx.port, '/', { headers: { host: 'echo.demo.local' } });
    return stateOf() === 'ejected';
  });
  // A time, as the hub writes times (ISO-8601), not epoch milliseconds: the ejection's end.
  const readmitAt = b0()?.readmit_at ?? '';
  t.regex(readmitAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.is(Date.parse(readmitAt), clock.now() + 400, 'readmit_at is the base ejection time from now');
  const hitsAtEjection = bad.hits;
  const seen: string[] = [];
  for (let i = 0; i < 10; i++) seen.push((await send(fx.port, '/', { headers: { host: 'echo.demo.local' } })).body);
  t.is(bad.hits, hitsAtEjection, 'an ejected endpoint gets no requests');
  t.false(seen.includes('broken'));
  bad.handler = answerName;
  clock.advance(400 + 100);
  t.not(stateOf(), 'ejected', 'readmitted at the first sweep after the ejection time');
  const after: string[] = [];
  for (let i = 0; i < 9; i++) after.push((await send(fx.port, '/', { headers: { host: 'echo.demo.local' } })).body);
  t.true(after.includes('b0'), JSON.stringify(after));
  t.is(stateOf(), 'active');
  t.is(b0()?.readmit_at, null);
});

test('over the concurrency limit: an immediate 503 with x-outrigger-overflow', async (t) => {
  const backends = await startBackends(1);
  const held: ServerResponse[] = [];
  backends[0]!.handler = (_req, res) => void held.push(res);
  const fx = await startProxy({ 'echo.demo.local': { config: { circuit_breakers: { max_requests: 2 } }, endpoints: endpointsOf(backends) } });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const first = [send(fx.port, '/', { headers: { host: 'echo.demo.local' } }), send(fx.port, '/', { headers: { host: 'echo.demo.local' } })];
  await until('two requests in flight', () => held.length === 2);
  const over = await send(fx.port, '/', { headers: { host: 'echo.demo.local' } });
  t.is(over.status, 503);
  t.is(over.headers['x-outrigger-error'], 'overflow');
  t.is(over.headers['x-outrigger-overflow'], 'requests');
  t.is(JSON.parse(over.body).error.code, 'overflow');
  t.is(backends[0]!.hits, 2);
  for (const res of held) res.end('ok');
  for (const r of await Promise.all(first)) t.is(r.status, 200);
  t.is(fx.proxy.describeClusters()[0]?.circuit_breakers.requests.active, 0);
  t.true((fx.proxy.describeClusters()[0]?.circuit_breakers.requests.overflows ?? 0) >= 1);
});

test('a failed idempotent request is retried on another endpoint; a POST is not', async (t) => {
  const backends = await startBackends(2);
  backends[0]!.handler = (_req, res) => {
    res.statusCode = 503;
    res.end('unavailable');
  };
  const fx = await startProxy({ 'echo.demo.local': { config: { outlier_detection: NO_OUTLIERS }, endpoints: endpointsOf(backends) } });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  for (let i = 0; i < 6; i++) {
    const r = await send(fx.port, 'http://echo.demo.local/', {});
    t.is(r.status, 200, `request ${i}: ${r.body} ${JSON.stringify(r.headers)}`);
    t.is(r.body, 'b1');
  }
  t.is(backends[0]!.hits + backends[1]!.hits, 6 + backends[0]!.hits, 'every 503 was followed by exactly one retry');
  t.true(backends[0]!.hits >= 1);
  const before = backends[0]!.hits + backends[1]!.hits;
  const posts = [];
  for (let i = 0; i < 4; i++) posts.push(await send(fx.port, 'http://echo.demo.local/', { method: 'POST', body: 'payload' }));
  t.is(backends[0]!.hits + backends[1]!.hits - before, 4, 'no POST was retried');
  t.deepEqual(counts(posts.map((p) => String(p.status))), { '200': 2, '503': 2 });
});

test('connect failures are retried on another endpoint', async (t) => {
  const backends = await startBackends(1);
  const dead = await closedPort();
  const fx = await startProxy({
    'echo.demo.local': {
      config: { outlier_detection: NO_OUTLIERS },
      endpoints: [{ id: 'dead', address: '127.0.0.1', port: dead }, ...endpointsOf(backends)],
    },
  });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  for (let i = 0; i < 6; i++) {
    const r = await send(fx.port, '/', { headers: { host: 'echo.demo.local' } });
    t.is(r.status, 200);
  }
  t.is(backends[0]!.hits, 6);
});

test('the retry budget stops a retry storm when every endpoint fails', async (t) => {
  const backends = await startBackends(3);
  for (const b of backends) {
    b.handler = (_req, res) => {
      setTimeout(() => {
        res.statusCode = 503;
        res.end('down');
      }, 30);
    };
  }
  const fx = await startProxy({
    'echo.demo.local': {
      config: { outlier_detection: NO_OUTLIERS, retry: { num_retries: 5, budget_percent: 20, min_retry_concurrency: 1 } },
      endpoints: endpointsOf(backends),
    },
  });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const calls = 20;
  const replies = await Promise.all(Array.from({ length: calls }, () => send(fx.port, '/', { headers: { host: 'echo.demo.local' } })));
  for (const r of replies) t.is(r.status, 503);
  const hits = backends.reduce((n, b) => n + b.hits, 0);
  // Without a budget: 20 × (1 + 5) = 120 attempts. With it, at most 20 % of 20 calls (4) retry at once.
  t.true(hits >= calls, `hits ${hits}`);
  t.true(hits <= calls + 4 * 5, `hits ${hits}`);
  t.true(hits < calls * 6);
});

test('requests beyond the pool wait as pending; over max_pending_requests an immediate 503 names pending_requests', async (t) => {
  const backends = await startBackends(1);
  const held: ServerResponse[] = [];
  backends[0]!.handler = (_req, res) => void held.push(res);
  const fx = await startProxy({
    'echo.demo.local': { config: { circuit_breakers: { max_connections: 1, max_pending_requests: 1 } }, endpoints: endpointsOf(backends) },
  });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const breakers = () => fx.proxy.describeClusters()[0]!.circuit_breakers;
  const active = send(fx.port, '/', { headers: { host: 'echo.demo.local' } });
  await until('the first request at the backend', () => held.length === 1);
  // One connection per endpoint: the second request queues for it.
  const pending = send(fx.port, '/', { headers: { host: 'echo.demo.local' } });
  await until('one pending request', () => breakers().pending_requests.active === 1);
  const over = await send(fx.port, '/', { headers: { host: 'echo.demo.local' } });
  t.is(over.status, 503);
  t.is(over.headers['x-outrigger-error'], 'overflow');
  t.is(over.headers['x-outrigger-overflow'], 'pending_requests');
  t.is(held.length, 1, 'the pending request has not reached the backend');
  held[0]!.end('first');
  await until('the pending request sent once the connection is free', () => held.length === 2);
  t.is(breakers().pending_requests.active, 0);
  held[1]!.end('second');
  t.deepEqual((await Promise.all([active, pending])).map((r) => [r.status, r.body]), [
    [200, 'first'],
    [200, 'second'],
  ]);
  t.is(backends[0]!.hits, 2);
  t.is(breakers().pending_requests.overflows, 1);
});

test('an idempotent request with a small body is retried with the same body; a large one is not retried', async (t) => {
  const backends = await startBackends(2);
  const received: Record<string, string[]> = { b0: [], b1: [] };
  for (const b of backends) {
    b.handler = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received[b.name]!.push(Buffer.concat(chunks).toString());
        res.statusCode = b.name === 'b0' ? 503 : 200;
        res.end(b.name);
      });
    };
  }
  const fx = await startProxy({ 'echo.demo.local': { config: { outlier_detection: NO_OUTLIERS }, endpoints: endpointsOf(backends) } });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  for (let i = 0; i < 4; i++) {
    const r = await send(fx.port, 'http://echo.demo.local/', { method: 'PUT', body: `doc-${i}` });
    t.is(r.status, 200);
    t.is(r.body, 'b1');
  }
  t.deepEqual(received['b1'], ['doc-0', 'doc-1', 'doc-2', 'doc-3']);
  t.true(received['b0']!.length >= 1);
  t.true(received['b0']!.every((body) => /^doc-\d$/.test(body)), 'the failed try got the whole body too');
  // Over the buffer limit the body is streamed, so a 503 is returned as it is.
  const large = 'x'.repeat(64 * 1024 + 1);
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await send(fx.port, 'http://echo.demo.local/', { method: 'PUT', body: large })).status);
  t.deepEqual(counts(statuses.map(String)), { '200': 2, '503': 2 });
});
