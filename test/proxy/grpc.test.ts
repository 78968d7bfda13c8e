import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { counts } from '../helpers/proxy-backends.js';
import { startProxy } from '../helpers/proxy-fixture.js';
import { EchoClient, startGrpcBackend, type GrpcBackend } from '../helpers/proxy-grpc.js';
import { until } from '../helpers/wait.js';

interface Echo extends grpc.Client {
  unary(req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { from: string }) => void): grpc.ClientUnaryCall;
  stream(req: unknown, opts?: grpc.CallOptions): grpc.ClientReadableStream<{ i: number; from: string }>;
}

async function setup(t: import('ava').ExecutionContext, n: number, config: Record<string, unknown> = {}) {
  const backends = await Promise.all(Array.from({ length: n }, (_, i) => startGrpcBackend(`g${i}`)));
  const fx = await startProxy(
    { 'greeter.demo.local': { config, endpoints: backends.map((b) => ({ id: b.name, address: '127.0.0.1', port: b.port })) } },
    { upstreams: [{ service: 'greeter', local_port: 0, protocol: 'grpc' }] },
  );
  const client = new EchoClient(`127.0.0.1:${fx.localPorts['greeter']!}`, grpc.credentials.createInsecure()) as unknown as Echo;
  t.teardown(async () => {
    client.close();
    await fx.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  return { backends, fx, client };
}

function unary(client: Echo, msg: string, opts: grpc.CallOptions = {}): Promise<{ res: { from: string }; trailers: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    let trailers = new grpc.Metadata();
    const call = client.unary({ msg }, new grpc.Metadata(), opts, (err, res) => (err ? reject(err) : setImmediate(() => resolve({ res: res!, trailers }))));
    call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
  });
}

test('300 unary calls over ONE client connection spread evenly over three backends; trailers pass through', async (t) => {
  const { backends, client } = await setup(t, 3);
  const froms: string[] = [];
  for (let wave = 0; wave < 10; wave++) {
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => unary(client, `m${wave}-${i}`)));
    for (const r of replies) {
      froms.push(r.res.from);
      t.is(r.trailers.get('x-served-by')[0], r.res.from);
    }
  }
  t.deepEqual(counts(froms), { g0: 100, g1: 100, g2: 100 });
  t.deepEqual(
    backends.map((b: GrpcBackend) => b.hits),
    [100, 100, 100],
  );
});

test('a server stream passes through', async (t) => {
  const { client } = await setup(t, 2);
  const got: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const call = client.stream({ count: 50 });
    call.on('data', (m: { i: number }) => got.push(m.i));
    call.on('error', reject);
    call.on('end', () => resolve());
  });
  t.deepEqual(got, Array.from({ length: 50 }, (_, i) => i));
});

test('a deadline is honoured: DEADLINE_EXCEEDED, and the backend sees the call cancelled', async (t) => {
  const { backends, client } = await setup(t, 1);
  backends[0]!.hang = true;
  // Generous enough that the call reaches the backend before it expires, even on a busy machine.
  const call = unary(client, 'slow', { deadline: Date.now() + 1500 });
  call.catch(() => undefined); // asserted below; not an unhandled rejection meanwhile
  await until('the call to reach the backend', () => backends[0]!.hits === 1);
  const err = await t.throwsAsync(call);
  t.is((err as grpc.ServiceError).code, grpc.status.DEADLINE_EXCEEDED);
  await until('the backend to see the cancellation', () => backends[0]!.cancelled === 1);
});

test('gRPC UNAVAILABLE is retried on another endpoint; errors the proxy makes are gRPC statuses', async (t) => {
  const { backends, client, fx } = await setup(t, 2, { outlier_detection: { enabled: false } });
  backends[0]!.failWith = grpc.status.UNAVAILABLE;
  for (let i = 0; i < 6; i++) t.is((await unary(client, 'x')).res.from, 'g1');
  t.true(backends[0]!.hits >= 1);
  fx.source.set('greeter.demo.local', { endpoints: [] });
  const err = await t.throwsAsync(unary(client, 'none'));
  t.is((err as grpc.ServiceError).code, grpc.status.UNAVAILABLE);
  t.is((err as grpc.ServiceError).metadata.get('x-outrigger-error')[0], 'no_healthy_upstream');
});
