import test from 'ava';
import { ProxyMetrics } from '../../src/metrics/proxy-metrics.js';
import { counts, send, startBackends } from '../helpers/proxy-backends.js';
import { endpointsOf, startProxy } from '../helpers/proxy-fixture.js';
import { until } from '../helpers/wait.js';

test('round_robin through Host routing spreads requests exactly', async (t) => {
  const backends = await startBackends(3);
  const metrics = new ProxyMetrics();
  const fx = await startProxy({ 'echo.demo.local': { endpoints: endpointsOf(backends) } }, { extra: { metrics } });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const seen: string[] = [];
  for (let i = 0; i < 30; i++) {
    const r = await send(fx.port, '/x', { headers: { host: 'echo.demo.local' } });
    t.is(r.status, 200);
    seen.push(r.body);
  }
  t.deepEqual(counts(seen), { b0: 10, b1: 10, b2: 10 });
  const text = await metrics.register.metrics();
  t.regex(text, /outrigger_proxy_requests_total\{cluster="echo.demo.local",protocol="http",code_class="2xx"\} 30/);
});

test('weighted through the forward proxy follows the weights', async (t) => {
  const backends = await startBackends(2);
  const fx = await startProxy({
    'echo.demo.local': { config: { lb_policy: 'weighted' }, endpoints: endpointsOf(backends, [{ weight: 1 }, { weight: 3 }]) },
  });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const seen: string[] = [];
  for (let wave = 0; wave < 10; wave++) {
    const replies = await Promise.all(Array.from({ length: 40 }, () => send(fx.port, 'http://echo.demo.local/w')));
    for (const r of replies) seen.push(r.body);
  }
  const c = counts(seen);
  t.is(seen.length, 400);
  const share = (c['b1'] ?? 0) / 400;
  t.true(share > 0.7 && share < 0.8, `b1 share ${share}`);
});

test('least_request steers away from a slow backend', async (t) => {
  const backends = await startBackends(2);
  const [fast, slow] = backends as [(typeof backends)[0], (typeof backends)[0]];
  slow.handler = (_req, res, b) => {
    setTimeout(() => res.end(b.name), 150);
  };
  const fx = await startProxy({ 'echo.demo.local': { config: { lb_policy: 'least_request', lb_options: { choice_count: 4 } }, endpoints: endpointsOf(backends) } });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  // Requests arrive one after another (each reaches a backend before the next is sent) while the
  // slow backend's earlier requests are still in flight.
  const pending = [];
  for (let i = 0; i < 40; i++) {
    pending.push(send(fx.port, '/', { headers: { host: 'echo' } }));
    await until('the request to reach a backend', () => fast.hits + slow.hits === i + 1);
  }
  await Promise.all(pending);
  t.true(fast.hits > slow.hits * 2, `fast ${fast.hits}, slow ${slow.hits}`);
});

test('a short name resolves in the sidecar namespace; per-upstream HTTP port routes every request', async (t) => {
  const backends = await startBackends(2);
  const fx = await startProxy(
    { 'worker.secure-api.local': { endpoints: endpointsOf(backends) } },
    { namespace: 'secure-api.local', upstreams: [{ service: 'worker', local_port: 0, protocol: 'http' }] },
  );
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const viaHost = await send(fx.port, '/', { headers: { host: 'worker' } });
  t.is(viaHost.status, 200);
  const local = fx.localPorts['worker']!;
  t.true(local > 0);
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) seen.push((await send(local, '/any', { headers: { host: 'whatever' } })).body);
  t.deepEqual(counts(seen), { b0: 2, b1: 2 });
  const clusters = fx.proxy.describeClusters();
  t.is(clusters[0]?.name, 'worker.secure-api.local');
  t.is(clusters[0]?.endpoints.length, 2);
});

test('request and response bodies stream both ways; hop-by-hop headers dropped, x-forwarded-* added', async (t) => {
  const backends = await startBackends(1);
  let seenHeaders: Record<string, unknown> = {};
  backends[0]!.handler = (req, res) => {
    seenHeaders = req.headers;
    res.setHeader('connection', 'keep-alive, x-hop');
    res.setHeader('x-hop', 'drop me');
    res.setHeader('x-kept', 'yes');
    req.pipe(res);
  };
  const fx = await startProxy({ 'echo.demo.local': { endpoints: endpointsOf(backends) } });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const big = 'x'.repeat(1_000_000);
  const r = await send(fx.port, 'http://echo.demo.local/up', {
    method: 'POST',
    body: big,
    headers: { connection: 'keep-alive, x-secret', 'x-secret': 'hop', 'proxy-authorization': 'Basic Zm9v', 'x-forwarded-for': '10.0.0.9' },
  });
  t.is(r.status, 200);
  t.is(r.body.length, big.length);
  t.is(r.headers['x-kept'], 'yes');
  t.is(r.headers['x-hop'], undefined);
  t.is(seenHeaders['x-secret'], undefined);
  t.is(seenHeaders['proxy-authorization'], undefined);
  t.is(seenHeaders['x-forwarded-for'], '10.0.0.9, 127.0.0.1');
  t.is(seenHeaders['x-forwarded-proto'], 'http');
  t.is(seenHeaders['x-forwarded-host'], 'echo.demo.local');
  t.is(seenHeaders['host'], 'echo.demo.local');
});
