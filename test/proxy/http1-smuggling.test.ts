import test from 'ava';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { startBackends, type Backend } from '../helpers/proxy-backends.js';
import { endpointsOf, startProxy, type ProxyFixture } from '../helpers/proxy-fixture.js';

const HOST = 'echo.demo.local';

/** What the backend saw of each complete request: method, target and a digest of its body. */
function digestHandler(seen: string[]) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const hash = createHash('sha256');
    req.on('data', (c: Buffer) => hash.update(c));
    req.on('end', () => {
      const line = `${req.method ?? ''} ${req.url ?? ''} ${hash.digest('hex').slice(0, 16)}`;
      seen.push(line);
      res.end(line);
    });
    req.on('error', () => undefined);
  };
}

async function fixture(t: import('ava').ExecutionContext): Promise<{ fx: ProxyFixture; backend: Backend; seen: string[] }> {
  const [backend] = (await startBackends(1)) as [Backend];
  const seen: string[] = [];
  backend.handler = digestHandler(seen);
  const fx = await startProxy({ [HOST]: { endpoints: endpointsOf([backend]), config: { retry: { num_retries: 0 } } } });
  t.teardown(async () => {
    await fx.stop();
    await backend.close();
  });
  t.is(fx.proxy.http1Engine, 'llhttp', 'these tests exercise the raw-socket path');
  return { fx, backend, seen };
}

/** Sends raw bytes and reads until the peer closes (or `ms` of silence ends the read). */
function rawSend(port: number, data: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(1500, () => socket.destroy());
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.end(data, 'latin1');
  });
}

const refusals: Array<[string, string]> = [
  ['both Content-Length and Transfer-Encoding', `POST /cl-te HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`],
  ['two different Content-Lengths', `POST /cl-cl HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 4\r\nContent-Length: 30\r\n\r\nbodyGET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`],
  ['an obs-fold header line', `GET /fold HTTP/1.1\r\nHost: ${HOST}\r\nX-Folded: a\r\n b\r\n\r\n`],
  ['a Transfer-Encoding other than chunked last', `POST /te HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`],
  ['a bad chunk size', `POST /chunk HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`],
  ['a chunk size with trailing junk', `POST /chunk-junk HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n`],
  ['a space before the header colon', `GET /space HTTP/1.1\r\nHost: ${HOST}\r\nX-Bad : 1\r\n\r\n`],
  ['a bare LF line ending in the head', `GET /lf HTTP/1.1\nHost: ${HOST}\n\n`],
];

for (const [name, bytes] of refusals) {
  test(`refused as llhttp refuses it: ${name}`, async (t) => {
    const { fx, seen } = await fixture(t);
    const answer = await rawSend(fx.port, bytes);
    // The proxy's own refusal (node:http behind it would write `Connection: close`, capitalised).
    t.is(answer, 'HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    t.deepEqual(seen, [], 'no request completed at the backend');
  });
}

/** A node:http server with the digest handler: the reference for what is accepted. */
async function referenceServer(t: import('ava').ExecutionContext): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer(digestHandler(seen));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as AddressInfo).port, seen };
}

/** Request heads and bodies built from the pieces smuggling is made of. */
const headerLine = fc.oneof(
  fc.constant('Content-Length: 5'),
  fc.constant('Content-Length: 0'),
  fc.constant('Content-Length: 05'),
  fc.constant('Content-Length: 5, 5'),
  fc.constant('Content-Length: -1'),
  fc.constant('Content-Length:5'),
  fc.constant('Transfer-Encoding: chunked'),
  fc.constant('Transfer-Encoding: Chunked'),
  fc.constant('Transfer-Encoding: gzip, chunked'),
  fc.constant('Transfer-Encoding: chunked, gzip'),
  fc.constant('Transfer-Encoding : chunked'),
  fc.constant('Transfer-Encoding:\tchunked'),
  fc.constant(' folded'),
  fc.constant('X-Empty:'),
  fc.constant('X-Ctl: a\u0001b'),
  fc.constant('X-Long: ' + 'v'.repeat(200)),
  fc.stringMatching(/^X-[A-Za-z]{1,8}: [ -~]{0,20}$/),
);
const body = fc.oneof(
  fc.constant(''),
  fc.constant('hello'),
  fc.constant('5\r\nhello\r\n0\r\n\r\n'),
  fc.constant('5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n'),
  fc.constant('zz\r\nhello\r\n0\r\n\r\n'),
  fc.constant('5 \r\nhello\r\n0\r\n\r\n'),
  fc.constant('5\r\nhello0\r\n\r\n'),
  fc.constant('0\r\n\r\n'),
  fc.constant('ffffffffffffffffff\r\n'),
);
const method = fc.constantFrom('GET', 'POST', 'PUT', 'get', 'G ET');
const lineEnd = fc.constantFrom('\r\n', '\r\n', '\r\n', '\n');
const requestBytes = fc
  .record({ method, path: fc.constantFrom('/', '/a?b=c', '/%zz'), version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2'), headers: fc.array(headerLine, { maxLength: 4 }), end: lineEnd, body })
  .map((r) => `${r.method} ${r.path} ${r.version}${r.end}Host: ${HOST}${r.end}${r.headers.join(r.end)}${r.headers.length > 0 ? r.end : ''}${r.end}${r.body}`);

test('differential fuzz: the proxy accepts a request exactly when node:http does, and forwards the same body', async (t) => {
  const { fx, seen } = await fixture(t);
  const reference = await referenceServer(t);
  const mismatches: string[] = [];
  let accepted = 0;
  const outcome = await fc.check(
    fc.asyncProperty(requestBytes, async (bytes) => {
      seen.length = 0;
      reference.seen.length = 0;
      await Promise.all([rawSend(reference.port, bytes), rawSend(fx.port, bytes)]);
      // Requests parsed after the first (smuggled in a body) count too: the lists must match.
      const same = JSON.stringify(seen) === JSON.stringify(reference.seen);
      if (reference.seen.length > 0) accepted++;
      if (!same) mismatches.push(`${JSON.stringify(bytes)}: node:http ${JSON.stringify(reference.seen)}, proxy ${JSON.stringify(seen)}`);
      return same;
    }),
    { numRuns: 150, seed: 20261202, endOnFailure: true },
  );
  t.false(outcome.failed, `${fc.defaultReportMessage(outcome) ?? ''}\n${mismatches.join('\n')}`);
  t.is(outcome.numRuns, 150);
  t.log(`${accepted} of 150 generated requests were accepted by both, the rest refused by both`);
});
