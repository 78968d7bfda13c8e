import test from 'ava';
import http2 from 'node:http2';
import { counts } from '../helpers/proxy-backends.js';
import { startProxy } from '../helpers/proxy-fixture.js';
import { h2Request, startH2Backend } from '../helpers/proxy-h2.js';

test('HTTP/2 streams waiting for the endpoint session to connect are pending; over max_pending_requests they overflow', async (t) => {
  const backend = await startH2Backend('h0');
  const fx = await startProxy(
    { 'web.demo.local': { config: { circuit_breakers: { max_pending_requests: 1 } }, endpoints: [{ id: 'h0', address: '127.0.0.1', port: backend.port }] } },
    { upstreams: [{ service: 'web', local_port: 0, protocol: 'http2' }] },
  );
  const session = http2.connect(`http://127.0.0.1:${fx.localPorts['web']!}`);
  session.on('error', () => undefined);
  t.teardown(async () => {
    session.destroy();
    await fx.stop();
    await backend.close();
  });
  await new Promise<void>((resolve) => session.once('connect', () => resolve()));
  // Three streams in one write reach the proxy together, before its session to h0 exists:
  // the first waits for the connection, the other two find the pending slot taken.
  const first = await Promise.all([h2Request(session, '/'), h2Request(session, '/'), h2Request(session, '/')]);
  t.deepEqual(counts(first.map((r) => String(r.status))), { '200': 1, '503': 2 });
  t.is(backend.streams, 1);
  const breakers = fx.proxy.describeClusters()[0]!.circuit_breakers;
  t.is(breakers.pending_requests.overflows, 2);
  t.is(breakers.pending_requests.active, 0);
  // Once the session is up, streams are not pending: all of a burst go through.
  const later = await Promise.all(Array.from({ length: 5 }, () => h2Request(session, '/')));
  t.deepEqual(later.map((r) => r.body), ['h0', 'h0', 'h0', 'h0', 'h0']);
});
