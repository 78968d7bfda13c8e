import test from 'ava';
import http2 from 'node:http2';
import { counts } from '../helpers/proxy-backends.js';
import { startProxy } from '../helpers/proxy-fixture.js';
import { NGHTTP2_ENHANCE_YOUR_CALM, h2Request as request, startH2Backend } from '../helpers/proxy-h2.js';

test('HTTP/2 is balanced per request over one client session, and RST_STREAM is propagated', async (t) => {
  const backends = await Promise.all([startH2Backend('h0'), startH2Backend('h1')]);
  const fx = await startProxy(
    { 'web.demo.local': { endpoints: backends.map((b, i) => ({ id: `h${i}`, address: '127.0.0.1', port: b.port })) } },
    { upstreams: [{ service: 'web', local_port: 0, protocol: 'http2' }] },
  );
  const session = http2.connect(`http://127.0.0.1:${fx.localPorts['web']!}`);
  session.on('error', () => undefined);
  t.teardown(async () => {
    session.destroy();
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const replies = await Promise.all(Array.from({ length: 10 }, () => request(session, '/')));
  t.deepEqual(counts(replies.map((r) => r.body)), { h0: 5, h1: 5 });
  const reset = await request(session, '/reset', true);
  t.is(reset.status, 200);
  t.is(reset.rstCode, NGHTTP2_ENHANCE_YOUR_CALM);
});
