import test from 'ava';
import { randomBytes } from 'node:crypto';
import { counts } from '../helpers/proxy-backends.js';
import { startProxy } from '../helpers/proxy-fixture.js';
import { decodeFrame, encodeFrame, exchange, startTcpEcho, startWsEcho } from '../helpers/proxy-raw.js';

test('TCP echo through a per-upstream port, balanced per connection', async (t) => {
  const servers = await Promise.all([startTcpEcho('t0'), startTcpEcho('t1')]);
  const fx = await startProxy(
    { 'echo-tcp.demo.local': { endpoints: servers.map((s, i) => ({ id: `t${i}`, address: '127.0.0.1', port: s.port })) } },
    { upstreams: [{ service: 'echo-tcp.demo.local', local_port: 0, protocol: 'tcp' }] },
  );
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(servers.map((s) => s.close()));
  });
  const port = fx.localPorts['echo-tcp.demo.local']!;
  const names: string[] = [];
  for (let i = 0; i < 4; i++) {
    const { received, socket } = await exchange(port, 'ping-pong', (r) => r.toString().endsWith('ping-pong'));
    const [name, rest] = received.toString().split(':');
    t.is(rest, 'ping-pong');
    names.push(name!);
    socket.destroy();
  }
  t.deepEqual(counts(names), { t0: 2, t1: 2 });
});

test('WebSocket upgrade through Host routing and through the forward proxy', async (t) => {
  const servers = await Promise.all([startWsEcho('w0')]);
  const fx = await startProxy({ 'chat.demo.local': { endpoints: servers.map((s, i) => ({ id: `w${i}`, address: '127.0.0.1', port: s.port })) } });
  t.teardown(async () => {
    await fx.stop();
    await Promise.all(servers.map((s) => s.close()));
  });
  for (const target of ['/room', 'http://chat.demo.local/room']) {
    const key = randomBytes(16).toString('base64');
    const handshake = `GET ${target} HTTP/1.1\r\nHost: chat.demo.local\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const { received, socket } = await exchange(fx.port, handshake, (r) => r.includes('\r\n\r\n'));
    t.regex(received.toString(), /^HTTP\/1\.1 101 /);
    const reply = new Promise<string>((resolve) => socket.once('data', (c: Buffer) => resolve(decodeFrame(c) ?? '')));
    socket.write(encodeFrame('hello', true));
    t.is(await reply, 'w0:hello');
    socket.destroy();
  }
});

test('an upgrade to an unknown service gets the error contract', async (t) => {
  const fx = await startProxy({});
  t.teardown(() => fx.stop());
  const handshake = `GET / HTTP/1.1\r\nHost: nope.demo.local\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  const { received } = await exchange(fx.port, handshake, (r) => r.toString().includes('}}'));
  t.regex(received.toString(), /^HTTP\/1\.1 502 /);
  t.regex(received.toString(), /x-outrigger-error: unknown_service/);
});
