import net from 'node:net';
import test from 'ava';
import { parseHealthCheck, type ProbingCheckConfig } from '../../src/health/check-config.js';
import { createProbe } from '../../src/health/probe-factory.js';
import { nextEvent } from '../helpers/wait.js';
import { closeServer, listen, manualManager, step } from './helpers.js';

function probeWith(raw: Record<string, unknown>, port: number) {
  return createProbe(parseHealthCheck({ type: 'tcp', ...raw }) as ProbingCheckConfig, { port });
}

/** A tiny line protocol: "PING" gets "+PONG", anything else "-ERR"; "QUIT" closes. */
async function pingServer(): Promise<{ server: net.Server; port: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (data) => {
      const line = data.toString().trim();
      if (line === 'QUIT') socket.end('+BYE\r\n');
      else socket.write(line === 'PING' ? '+PONG\r\n' : '-ERR unknown command\r\n');
    });
  });
  const port = await listen(server);
  return { server, port, sockets };
}

test('a listening port passes; the connection is closed afterwards', async (t) => {
  const { server, port, sockets } = await pingServer();
  t.teardown(() => closeServer(server));
  const closed = new Promise<void>((resolve) => server.once('connection', (s: net.Socket) => s.once('close', () => resolve())));
  const r = await probeWith({}, port).probe(new AbortController().signal);
  t.is(r.status, 'pass');
  t.regex(r.output, /connected/);
  await closed;
  t.is(sockets.size, 0);
});

test('send and expect a substring', async (t) => {
  const { server, port } = await pingServer();
  t.teardown(() => closeServer(server));
  const r = await probeWith({ send: 'PING\r\n', expect: '+PONG' }, port).probe(new AbortController().signal);
  t.is(r.status, 'pass', r.output);
});

test('send and expect a regular expression', async (t) => {
  const { server, port } = await pingServer();
  t.teardown(() => closeServer(server));
  const ok = await probeWith({ send: 'PING\r\n', expect_regex: '^\\+PO[N]G\\r\\n$' }, port).probe(new AbortController().signal);
  t.is(ok.status, 'pass', ok.output);
  const bad = await probeWith({ send: 'QUIT\r\n', expect_regex: '^-ERR' }, port).probe(new AbortController().signal);
  t.is(bad.status, 'fail');
  t.regex(bad.output, /matched \/\^-ERR\//);
});

test('a reply that does not match before the peer closes fails, and says what came back', async (t) => {
  const { server, port } = await pingServer();
  t.teardown(() => closeServer(server));
  const r = await probeWith({ send: 'QUIT\r\n', expect: '+PONG' }, port).probe(new AbortController().signal);
  t.is(r.status, 'fail');
  t.regex(r.output, /closed before a reply matched "\+PONG"/);
  t.regex(r.output, /\+BYE/);
});

test('a reply that never matches fails at the timeout', async (t) => {
  const { server, port } = await pingServer();
  t.teardown(() => closeServer(server));
  const { manager, clock } = manualManager({ type: 'tcp', port, send: 'HELLO\r\n', expect: '+PONG', timeout: '3s', fall: 1 });
  t.teardown(() => manager.stop());
  manager.start();
  let serverSide: net.Socket | undefined;
  const replied = new Promise<void>((resolve) =>
    server.once('connection', (s: net.Socket) => {
      serverSide = s;
      s.once('data', () => setImmediate(resolve));
    }),
  );
  clock.advance(0);
  await replied;
  const result = nextEvent<[{ status: string; output: string; timedOut: boolean }]>(manager, 'result');
  clock.advance(3000);
  const [r] = await result;
  t.is(r.status, 'fail');
  t.true(r.timedOut);
  t.regex(r.output, /timed out after 3000ms/);
  t.is(manager.health, 'UNHEALTHY');
  // The probe hung up when it gave up: the app sees its connection close.
  const socket = serverSide as net.Socket;
  if (!socket.destroyed) await nextEvent(socket, 'close');
  t.true(socket.destroyed);
});

test('a closed port fails with the connection error', async (t) => {
  const { server, port } = await pingServer();
  await closeServer(server);
  const r = await probeWith({}, port).probe(new AbortController().signal);
  t.is(r.status, 'fail');
  t.regex(r.output, /ECONNREFUSED/);
});

test('tcp through the manager: a port that goes away turns the instance unhealthy', async (t) => {
  const { server, port, sockets } = await pingServer();
  const { manager, clock, transitions } = manualManager({ type: 'tcp', port, interval: '1s', rise: 1, fall: 2 });
  t.teardown(() => manager.stop());
  manager.start();
  await step(manager, clock, 0);
  t.is(manager.health, 'HEALTHY');
  for (const s of sockets) s.destroy();
  await closeServer(server);
  await step(manager, clock, 1000);
  t.is(manager.health, 'HEALTHY');
  await step(manager, clock, 1000);
  t.is(manager.health, 'UNHEALTHY');
  t.deepEqual(transitions.map((x) => x.health), ['HEALTHY', 'UNHEALTHY']);
});
