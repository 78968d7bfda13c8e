import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { HealthImplementation, type ServingStatusMap } from 'grpc-health-check';
import { parseHealthCheck, type ProbingCheckConfig } from '../../src/health/check-config.js';
import { createProbe } from '../../src/health/probe-factory.js';
import type { HealthProbe } from '../../src/health/probe.js';
import { nextEvent } from '../helpers/wait.js';
import { closeServer, listen, manualManager, step } from './helpers.js';

async function healthServer(statuses: ServingStatusMap, port = 0): Promise<{ server: grpc.Server; health: HealthImplementation; port: number }> {
  const server = new grpc.Server();
  const health = new HealthImplementation(statuses);
  health.addToServer(server);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, health, port: bound };
}

function shutdown(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => server.tryShutdown(() => resolve()));
}

function grpcProbe(port: number, service?: string): HealthProbe {
  return createProbe(parseHealthCheck({ type: 'grpc', ...(service !== undefined ? { service } : {}) }) as ProbingCheckConfig, { port });
}

const once = (probe: HealthProbe) => probe.probe(new AbortController().signal);

test('SERVING passes, NOT_SERVING fails, for the server and for a named service', async (t) => {
  const { server, health, port } = await healthServer({ '': 'SERVING', 'shop.Cart': 'NOT_SERVING' });
  t.teardown(() => shutdown(server));
  const whole = grpcProbe(port);
  const cart = grpcProbe(port, 'shop.Cart');
  t.teardown(() => {
    whole.close();
    cart.close();
  });

  const a = await once(whole);
  t.is(a.status, 'pass', a.output);
  t.regex(a.output, /SERVING/);
  const b = await once(cart);
  t.is(b.status, 'fail');
  t.regex(b.output, /service "shop\.Cart": NOT_SERVING/);

  health.setStatus('shop.Cart', 'SERVING');
  t.is((await once(cart)).status, 'pass');
  health.setStatus('', 'NOT_SERVING');
  t.is((await once(whole)).status, 'fail');
});

test('a service the server does not know fails with NOT_FOUND', async (t) => {
  const { server, port } = await healthServer({ '': 'SERVING' });
  t.teardown(() => shutdown(server));
  const probe = grpcProbe(port, 'no.Such');
  t.teardown(() => probe.close());
  const r = await once(probe);
  t.is(r.status, 'fail');
  t.regex(r.output, /NOT_FOUND/);
});

test('the channel stays open between probes and is closed by close()', async (t) => {
  const { server, port: grpcPort } = await healthServer({ '': 'SERVING' });
  t.teardown(() => shutdown(server));
  // A plain TCP relay in front of the app counts the connections the probe opens.
  const upstream = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    const up = net.connect(grpcPort, '127.0.0.1');
    upstream.add(up);
    client.pipe(up).pipe(client);
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
    client.on('close', () => up.destroy());
  });
  const port = await listen(relay);
  t.teardown(() => closeServer(relay));

  const probe = grpcProbe(port);
  for (let i = 0; i < 3; i++) t.is((await once(probe)).status, 'pass');
  t.is(upstream.size, 1, 'three probes, one connection');

  const [conn] = upstream;
  const closed = nextEvent(conn as net.Socket, 'close');
  probe.close();
  await closed;
  t.pass('close() hung up the connection');
});

test('an app that restarts is seen again on the next probe, without waiting out reconnect backoff', async (t) => {
  const first = await healthServer({ '': 'SERVING' });
  const port = first.port;
  const probe = grpcProbe(port);
  t.teardown(() => probe.close());
  t.is((await once(probe)).status, 'pass');

  first.server.forceShutdown();
  const down = await once(probe);
  t.is(down.status, 'fail');
  t.regex(down.output, /UNAVAILABLE/);
  const down2 = await once(probe);
  t.is(down2.status, 'fail');

  const second = await healthServer({ '': 'SERVING' }, port);
  t.teardown(() => shutdown(second.server));
  const up = await once(probe);
  t.is(up.status, 'pass', up.output);
});

test('grpc through the manager: NOT_SERVING turns the instance unhealthy, SERVING brings it back', async (t) => {
  const { server, health, port } = await healthServer({ '': 'SERVING', 'shop.Cart': 'SERVING' });
  t.teardown(() => shutdown(server));
  const { manager, clock, transitions } = manualManager({ type: 'grpc', port, service: 'shop.Cart', interval: '2s', rise: 1, fall: 1 });
  t.teardown(() => manager.stop());
  manager.start();
  await step(manager, clock, 0);
  t.is(manager.health, 'HEALTHY');
  health.setStatus('shop.Cart', 'NOT_SERVING');
  await step(manager, clock, 2000);
  t.is(manager.health, 'UNHEALTHY');
  health.setStatus('shop.Cart', 'SERVING');
  await step(manager, clock, 2000);
  t.deepEqual(transitions.map((x) => x.health), ['HEALTHY', 'UNHEALTHY', 'HEALTHY']);
});

test('a gRPC server that never answers fails at the timeout', async (t) => {
  // Accepts TCP and says nothing: the HTTP/2 handshake never completes.
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => void sockets.push(s));
  const port = await listen(silent);
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return closeServer(silent);
  });
  const { manager, clock } = manualManager({ type: 'grpc', port, timeout: '1s', fall: 1 });
  t.teardown(() => manager.stop());
  manager.start();
  const connected = nextEvent(silent, 'connection');
  clock.advance(0);
  await connected;
  const result = nextEvent<[{ status: string; timedOut: boolean; output: string }]>(manager, 'result');
  clock.advance(1000);
  const [r] = await result;
  t.is(r.status, 'fail');
  t.true(r.timedOut);
  t.regex(r.output, /timed out after 1000ms/);
});
