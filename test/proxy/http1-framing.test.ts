import test from 'ava';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { startBackends, type Backend } from '../helpers/proxy-backends.js';
import { endpointsOf, startProxy, type ProxyFixture } from '../helpers/proxy-fixture.js';
import { exchange } from '../helpers/proxy-raw.js';
import { until } from '../helpers/wait.js';

const HOST = 'echo.demo.local';

async function fixture(t: import('ava').ExecutionContext, n = 1): Promise<{ fx: ProxyFixture; backends: Backend[] }> {
  const backends = await startBackends(n);
  const fx = await startProxy({ [HOST]: { endpoints: endpointsOf(backends) } });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  t.is(fx.proxy.http1Engine, 'llhttp', 'these tests exercise the raw-socket path');
  return { fx, backends };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  trailers: NodeJS.Dict<string>;
}

function request(port: number, opts: http.RequestOptions, write?: (req: http.ClientRequest) => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent: false, ...opts }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, trailers: res.trailers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (write !== undefined) write(req);
    else req.end();
  });
}

test('chunked bodies both ways, with trailers both ways', async (t) => {
  const { fx, backends } = await fixture(t);
  let seen: { body: string; te: string | undefined; trailer: string | undefined } | undefined;
  backends[0]!.handler = (req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen = { body, te: req.headers['transfer-encoding'], trailer: req.trailers['x-request-sum'] };
      res.writeHead(200, { trailer: 'x-response-sum' });
      res.write('part one, ');
      res.write('part two');
      res.addTrailers({ 'x-response-sum': String(body.length) });
      res.end();
    });
  };
  const answer = await request(fx.port, { method: 'POST', path: '/upload', headers: { host: HOST, 'transfer-encoding': 'chunked', trailer: 'x-request-sum' } }, (req) => {
    req.write('abc');
    req.write('defgh');
    req.addTrailers({ 'x-request-sum': '8' });
    req.end();
  });
  t.deepEqual(seen, { body: 'abcdefgh', te: 'chunked', trailer: '8' }, 'the backend got the body re-chunked and the trailer');
  t.is(answer.status, 200);
  t.is(answer.headers['transfer-encoding'], 'chunked');
  t.is(answer.body, 'part one, part two');
  t.is(answer.trailers['x-response-sum'], '8', 'the response trailer reached the client');
});

test('Content-Length bodies both ways; a response delimited by the close reaches an HTTP/1.1 client chunked', async (t) => {
  const { fx, backends } = await fixture(t);
  backends[0]!.handler = (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.setHeader('content-length', String(body.length + 4));
      res.end(`got ${body}`);
    });
  };
  const withLength = await request(fx.port, { method: 'PUT', path: '/', headers: { host: HOST, 'content-length': '5' } }, (req) => req.end('hello'));
  t.is(withLength.body, 'got hello');
  t.is(withLength.headers['content-length'], '9');
  t.is(withLength.headers['transfer-encoding'], undefined);

  // An endpoint that ends its body by closing the connection (no length, no chunking).
  const raw = net.createServer((s) => {
    s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nuntil the close'));
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => raw.close(() => resolve())));
  fx.source.set('closing.demo.local', { endpoints: [{ address: '127.0.0.1', port: (raw.address() as AddressInfo).port }] });
  const closeDelimited = await request(fx.port, { path: '/', headers: { host: 'closing.demo.local' } });
  t.is(closeDelimited.body, 'until the close');
  t.is(closeDelimited.headers['transfer-encoding'], 'chunked');
});

test('response bodies arrive byte for byte: every byte value, small and large, with a length and chunked', async (t) => {
  const { fx, backends } = await fixture(t);
  // Sizes on both sides of what one read carries, and bytes that are not text.
  const bodyOf = (size: number): Buffer => Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + 3) % 256));
  backends[0]!.handler = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = bodyOf(Number(url.searchParams.get('size')));
    if (url.searchParams.get('chunked') === '1') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < body.length; i += 1000) res.write(body.subarray(i, i + 1000));
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
      res.end(body);
    }
  };
  const fetchBody = (path: string): Promise<{ body: Buffer; chunked: boolean }> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: fx.port, agent: false, path, headers: { host: HOST } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ body: Buffer.concat(parts), chunked: res.headers['transfer-encoding'] === 'chunked' }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  for (const size of [0, 1, 256, 4096, 4097, 300_000]) {
    for (const chunked of [false, true]) {
      const got = await fetchBody(`/?size=${size}&chunked=${chunked ? 1 : 0}`);
      t.is(got.chunked, chunked, `${size} bytes, chunked ${chunked}: framing kept`);
      t.true(got.body.equals(bodyOf(size)), `${size} bytes, chunked ${chunked}: the same bytes`);
    }
  }
});

test('Expect: 100-continue is answered by the proxy, then the body flows', async (t) => {
  const { fx, backends } = await fixture(t);
  let expectSeen: string | undefined;
  let asked = false;
  backends[0]!.handler = (req, res) => {
    asked = true;
    expectSeen = req.headers.expect;
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => res.end(`body: ${body}`));
  };
  let continued = false;
  const answer = await request(fx.port, { method: 'POST', path: '/', headers: { host: HOST, expect: '100-continue', 'content-length': '4' } }, (req) => {
    req.on('continue', () => {
      continued = true;
      req.end('data');
    });
  });
  t.true(continued, 'the client got 100 Continue before sending its body');
  t.is(answer.body, 'body: data');
  t.true(asked);
  t.is(expectSeen, undefined, 'Expect is answered by this hop, not forwarded');
});

test('HEAD, 204 and 304 carry no body, and the connection stays usable after each', async (t) => {
  const { fx, backends } = await fixture(t);
  backends[0]!.handler = (req, res) => {
    if (req.url === '/204') {
      res.statusCode = 204;
      res.end();
    } else if (req.url === '/304') {
      res.statusCode = 304;
      res.setHeader('etag', '"v1"');
      res.end();
    } else {
      res.setHeader('content-length', '11');
      res.end(req.method === 'HEAD' ? undefined : 'full answer');
    }
  };
  const head = `HEAD / HTTP/1.1\r\nHost: ${HOST}\r\n\r\nGET /204 HTTP/1.1\r\nHost: ${HOST}\r\n\r\nGET /304 HTTP/1.1\r\nHost: ${HOST}\r\n\r\nGET /last HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
  const { received, socket } = await exchange(fx.port, head, (r) => r.toString('latin1').endsWith('full answer'));
  socket.destroy();
  const text = received.toString('latin1');
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  t.deepEqual(statuses, ['200', '204', '304', '200'], text);
  const headAnswer = text.split('HTTP/1.1 204')[0]!;
  t.regex(headAnswer, /\r\ncontent-length: 11\r\n/i, 'the HEAD answer keeps its Content-Length');
  t.true(headAnswer.endsWith('\r\n\r\n'), 'and has no body');
  t.is(text.match(/full answer/g)?.length, 1, 'only the GET carried a body');
});

test('an HTTP/1.0 client gets an answer whose body ends with the connection', async (t) => {
  const { fx, backends } = await fixture(t);
  backends[0]!.handler = (_req, res) => {
    res.write('streamed ');
    res.end('without length');
  };
  const { received } = await new Promise<{ received: Buffer }>((resolve, reject) => {
    const socket = net.connect(fx.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve({ received: Buffer.concat(chunks) }));
    socket.write(`GET / HTTP/1.0\r\nHost: ${HOST}\r\n\r\n`);
  });
  const text = received.toString('latin1');
  t.regex(text, /^HTTP\/1\.1 200 OK\r\n/);
  t.regex(text, /\r\nconnection: close\r\n/i);
  t.notRegex(text, /transfer-encoding/i, 'no chunking for an HTTP/1.0 client');
  t.true(text.endsWith('\r\n\r\nstreamed without length'), text);
});

test('pipelined requests are answered in order, one at a time', async (t) => {
  const { fx, backends } = await fixture(t);
  let inFlight = 0;
  let most = 0;
  backends[0]!.handler = (req, res) => {
    most = Math.max(most, ++inFlight);
    const answer = (): void => {
      inFlight--;
      res.end(`answer ${req.url ?? ''};`);
    };
    // The first one is the slowest to answer: it must still come out first.
    if (req.url === '/first') setTimeout(answer, 50);
    else answer();
  };
  const three = ['/first', '/second', '/third'].map((p) => `GET ${p} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`).join('');
  const { received, socket } = await exchange(fx.port, three, (r) => r.toString('latin1').includes('answer /third'));
  socket.destroy();
  const bodies = [...received.toString('latin1').matchAll(/answer (\/\w+);/g)].map((m) => m[1]);
  t.deepEqual(bodies, ['/first', '/second', '/third']);
  t.is(most, 1, 'the proxy sends a pipelined request upstream once the one before it is answered');
});

/** 24 MB with a position-dependent pattern, so a lost, repeated or reordered piece shows. */
const BIG = 24 * 1024 * 1024;
const pattern = (from: number, n: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (from + i) % 251;
  return b;
};
const intact = (b: Buffer): boolean => b.length === BIG && b.equals(pattern(0, BIG));

/** Writes BIG bytes of the pattern, waiting for 'drain' whenever the stream asks; `blocked` is told each time. */
function pump(out: http.ServerResponse | http.ClientRequest, blocked: () => void): void {
  let at = 0;
  const more = (): void => {
    while (at < BIG) {
      const n = Math.min(65_536, BIG - at);
      const ok = out.write(pattern(at, n));
      at += n;
      if (!ok) {
        blocked();
        out.once('drain', more);
        return;
      }
    }
    out.end();
  };
  more();
}

test('flow control both ways: a large body reaches a side that reads late, whole and in order', async (t) => {
  const { fx, backends } = await fixture(t);
  let uploadBlocked = false;
  let uploadRead: Buffer | undefined;
  let downloadBlocked = false;
  let readBody: (() => void) | undefined;
  backends[0]!.handler = (req, res) => {
    if (req.method === 'PUT') {
      // Reads nothing until the client has had to wait, then everything.
      req.pause();
      readBody = () => {
        const parts: Buffer[] = [];
        req.on('data', (c: Buffer) => parts.push(c));
        req.on('end', () => {
          uploadRead = Buffer.concat(parts);
          res.end('stored');
        });
        req.resume();
      };
      return;
    }
    res.setHeader('content-length', String(BIG));
    pump(res, () => (downloadBlocked = true));
  };

  // Upload: the backend does not read, so the client's writes must come to wait.
  const upload = http.request({ host: '127.0.0.1', port: fx.port, method: 'PUT', path: '/big', agent: false, headers: { host: HOST, 'content-length': String(BIG) } });
  const answered = new Promise<string>((resolve, reject) => {
    upload.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    upload.on('error', reject);
  });
  pump(upload, () => (uploadBlocked = true));
  await until('the client to wait on a backend that reads nothing', () => uploadBlocked && readBody !== undefined);
  readBody!();
  t.is(await answered, 'stored');
  t.true(uploadRead !== undefined && intact(uploadRead), 'the backend got the upload whole and in order');

  // Download: the client reads nothing until the backend has had to wait.
  const socket = net.connect(fx.port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  socket.pause();
  socket.write(`GET /big HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
  await until('the backend to wait on a client that reads nothing', () => downloadBlocked);
  const received = await new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    let length = 0;
    socket.on('data', (c: Buffer) => {
      parts.push(c);
      length += c.length;
      const all = Buffer.concat(parts);
      const end = all.indexOf('\r\n\r\n');
      if (end >= 0 && length - end - 4 >= BIG) resolve(all.subarray(end + 4));
      else if (parts.length > 64) parts.splice(0, parts.length, all);
    });
    socket.on('error', reject);
    socket.resume();
  });
  t.true(intact(received), 'the client got the download whole and in order');
});
