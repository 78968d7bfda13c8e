import test from 'ava';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { counts } from '../helpers/proxy-backends.js';
import { startProxy } from '../helpers/proxy-fixture.js';

const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

async function startH2Backend(name: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (headers[':path'] === '/reset') {
      // Headers and part of the body, then RST_STREAM with a distinctive code.
      stream.respond({ ':status': 200 });
      stream.write('partial', () => stream.close(NGHTTP2_ENHANCE_YOUR_CALM));
      return;
    }
    stream.respond({ ':status': 200, 'x-backend': name });
    stream.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** `open`: the request side stays open (Node reports a peer's reset code only on a stream it has not ended). */
function request(session: http2.ClientHttp2Session, path: string, open = false): Promise<{ status: number; body: string; rstCode: number }> {
  return new Promise((resolve) => {
    const req = session.request({ ':path': path }, { endStream: false });
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('error', () => undefined);
    req.on('close', () => resolve({ status, body, rstCode: req.rstCode ?? 0 }));
    if (!open) req.end();
  });
}

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
