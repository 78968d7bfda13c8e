import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startBackends, send, type Reply } from '../helpers/proxy-backends.js';
import { endpointsOf, startProxy } from '../helpers/proxy-fixture.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { NEGATIVE_TTL_MS } from '../../src/proxy/cluster-set.js';

const run = promisify(execFile);

function assertError(t: import('ava').ExecutionContext, r: Reply, status: number, code: string): void {
  t.is(r.status, status);
  t.is(r.headers['x-outrigger-error'], code);
  t.is(r.headers['content-type'], 'application/json');
  const body = JSON.parse(r.body) as { error: { code: string; message: string } };
  t.is(body.error.code, code);
  t.true(body.error.message.length > 0);
}

test('unknown_service, no_healthy_upstream, timeout and upstream_reset answer with their code', async (t) => {
  const backends = await startBackends(2);
  const [hang, reset] = backends as [(typeof backends)[0], (typeof backends)[0]];
  hang.handler = () => undefined; // never answers
  reset.handler = (req) => req.socket.destroy();
  const fx = await startProxy({
    'empty.demo.local': { endpoints: [] },
    'draining.demo.local': { endpoints: [{ address: '127.0.0.1', port: 1, health: 'DRAINING' }] },
    'hang.demo.local': { config: { timeout_ms: 200 }, endpoints: endpointsOf([hang]) },
    'reset.demo.local': { endpoints: endpointsOf([reset]) },
  });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  assertError(t, await send(fx.port, '/', { headers: { host: 'nope.demo.local' } }), 502, 'unknown_service');
  assertError(t, await send(fx.port, '/', { headers: { host: `127.0.0.1:${fx.port}` } }), 502, 'unknown_service');
  assertError(t, await send(fx.port, '/', { headers: { host: 'empty.demo.local' } }), 503, 'no_healthy_upstream');
  assertError(t, await send(fx.port, '/', { headers: { host: 'draining.demo.local' } }), 503, 'no_healthy_upstream');
  assertError(t, await send(fx.port, '/', { headers: { host: 'hang.demo.local' } }), 504, 'timeout');
  assertError(t, await send(fx.port, '/', { headers: { host: 'reset.demo.local' } }), 502, 'upstream_reset');
  t.is(reset.hits, 3, 'a GET reset was retried twice (num_retries 2) before giving up');
});

test('per-try timeout: a slow attempt is abandoned and retried, then 504 when every try times out', async (t) => {
  const backends = await startBackends(2);
  backends[0]!.handler = () => undefined;
  const fx = await startProxy({
    'slow.demo.local': {
      config: { outlier_detection: { enabled: false }, retry: { per_try_timeout_ms: 500, retry_on: ['gateway-error'] } },
      endpoints: endpointsOf(backends),
    },
    'stuck.demo.local': {
      config: { timeout_ms: 2000, retry: { per_try_timeout_ms: 300, num_retries: 1, retry_on: ['gateway-error'] } },
      endpoints: endpointsOf([backends[0]!]),
    },
  });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  for (let i = 0; i < 4; i++) {
    const r = await send(fx.port, '/', { headers: { host: 'slow.demo.local' } });
    t.is(r.status, 200);
    t.is(r.body, 'b1');
  }
  assertError(t, await send(fx.port, '/', { headers: { host: 'stuck.demo.local' } }), 504, 'timeout');
});

test('passthrough on: hosts outside the mesh reach the real host; off: 502 with the reason', async (t) => {
  const backends = await startBackends(1);
  const on = await startProxy({});
  const off = await startProxy({}, { passthrough: false });
  t.teardown(async () => {
    await on.stop();
    await off.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const url = `http://127.0.0.1:${backends[0]!.port}/outside`;
  const r = await send(on.port, url);
  t.is(r.status, 200);
  t.is(r.body, 'b0');
  const refused = await send(off.port, url);
  assertError(t, refused, 502, 'unknown_service');
  t.regex(JSON.parse(refused.body).error.message, /passthrough/);
  // A dotted name unknown to the mesh also passes through (here: it cannot resolve, so upstream_reset).
  const unresolvable = await send(on.port, 'http://no-such-host.invalid/');
  assertError(t, unresolvable, 502, 'upstream_reset');
});

test('curl -x through the forward proxy, and a CONNECT tunnel (curl -p) to a mesh service', async (t) => {
  const backends = await startBackends(2);
  const fx = await startProxy({ 'echo.demo.local': { endpoints: endpointsOf(backends) } });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const proxy = `http://127.0.0.1:${fx.port}`;
  const env = { ...process.env, NO_PROXY: '', no_proxy: '' };
  const plain = await run('curl', ['-sS', '-m', '10', '-x', proxy, '-w', ' %{http_code}', 'http://echo.demo.local/'], { env });
  t.regex(plain.stdout, /^b[01] 200$/);
  const tunnel = await run('curl', ['-sS', '-m', '10', '-p', '-x', proxy, '-w', ' %{http_code}', 'http://echo.demo.local/'], { env });
  t.regex(tunnel.stdout, /^b[01] 200$/);
  const failed = await run('curl', ['-sS', '-m', '10', '-p', '-x', proxy, '-w', '%{http_connect}', '-o', '/dev/null', 'http://nope.demo.local/'], { env }).catch(
    (err: { stdout: string }) => err,
  );
  t.is(failed.stdout, '502');
});

test('a service the source does not know is answered at once for a while, and served as soon as it appears', async (t) => {
  const backends = await startBackends(1);
  const clock = new ManualClock();
  const fx = await startProxy({}, { extra: { clock } });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const ask = () => send(fx.port, '/', { headers: { host: 'later.demo.local' } });
  assertError(t, await ask(), 502, 'unknown_service');
  assertError(t, await ask(), 502, 'unknown_service');
  t.is(fx.source.ensures.get('later.demo.local'), 1, 'the second request did not ask the source again');
  clock.advance(NEGATIVE_TTL_MS);
  assertError(t, await ask(), 502, 'unknown_service');
  t.is(fx.source.ensures.get('later.demo.local'), 2, 'asked again once the answer expired');
  fx.source.set('later.demo.local', { endpoints: endpointsOf(backends) });
  const served = await ask();
  t.is(served.status, 200);
  t.is(served.body, 'b0');
});
