import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { counts, send, startBackends } from '../helpers/proxy-backends.js';
import { endpointsOf, startProxy } from '../helpers/proxy-fixture.js';
import { EchoClient, startGrpcBackend } from '../helpers/proxy-grpc.js';

const run = promisify(execFile);

interface Echo extends grpc.Client {
  unary(req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { from: string }) => void): grpc.ClientUnaryCall;
}

function unary(client: Echo, msg: string): Promise<{ from: string }> {
  return new Promise((resolve, reject) => client.unary({ msg }, new grpc.Metadata(), {}, (err, res) => (err ? reject(err) : resolve(res!))));
}

test('gRPC on the main port: a client with authority svc.ns is routed by :authority and balanced per call', async (t) => {
  const backends = await Promise.all([startGrpcBackend('g0'), startGrpcBackend('g1')]);
  const fx = await startProxy({ 'greeter.demo.local': { endpoints: backends.map((b) => ({ id: b.name, address: '127.0.0.1', port: b.port })) } });
  const client = new EchoClient(`127.0.0.1:${fx.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'greeter.demo.local' }) as unknown as Echo;
  const unknown = new EchoClient(`127.0.0.1:${fx.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'nope.demo.local' }) as unknown as Echo;
  t.teardown(async () => {
    client.close();
    unknown.close();
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const froms: string[] = [];
  for (let i = 0; i < 20; i++) froms.push((await unary(client, `m${i}`)).from);
  t.deepEqual(counts(froms), { g0: 10, g1: 10 }, 'one client connection, spread per call');
  const err = await t.throwsAsync(unary(unknown, 'x'));
  t.is((err as grpc.ServiceError).code, grpc.status.UNAVAILABLE);
  t.deepEqual((err as grpc.ServiceError).metadata.get('x-outrigger-error'), ['unknown_service']);
});

test('curl --http2-prior-knowledge with a Host header, and HTTP/1.1 on the same port', async (t) => {
  const h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200, 'x-backend': 'h2' });
    stream.end(`h2 ${String(headers[':path'])}`);
  });
  await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
  const h1 = await startBackends(1);
  const fx = await startProxy({
    'echo.demo.local': { endpoints: [{ id: 'h2', address: '127.0.0.1', port: (h2.address() as AddressInfo).port }] },
    'plain.demo.local': { endpoints: endpointsOf(h1) },
  });
  t.teardown(async () => {
    await fx.stop();
    await new Promise<void>((resolve) => h2.close(() => resolve()));
    await Promise.all(h1.map((b) => b.close()));
  });
  const r = await run('curl', ['-sS', '-m', '10', '--http2-prior-knowledge', '-H', 'Host: echo.demo.local', '-w', ' %{http_code} %{http_version}', `http://127.0.0.1:${fx.port}/hello`]);
  t.is(r.stdout, 'h2 /hello 200 2');
  const missing = await run('curl', ['-sS', '-m', '10', '--http2-prior-knowledge', '-H', 'Host: nope.demo.local', '-w', ' %{http_code}', `http://127.0.0.1:${fx.port}/`]);
  t.regex(missing.stdout, /"code":"unknown_service".* 502$/);
  const plain = await send(fx.port, '/', { headers: { host: 'plain.demo.local' } });
  t.is(plain.status, 200);
  t.is(plain.body, 'b0');
});
