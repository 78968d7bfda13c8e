/** Raw TCP and a minimal WebSocket (RFC 6455: handshake and single small text frames) for the proxy's tests. */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface RawServer {
  readonly port: number;
  close(): Promise<void>;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Echoes bytes back, prefixed by its name once per connection. */
export async function startTcpEcho(name: string): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write(`${name}:`);
    s.pipe(s);
  });
  const port = await listen(server);
  return { port, close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }) };
}

/** A WebSocket server echoing each text frame as `<name>:<text>`. */
export async function startWsEcho(name: string): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.end('not a websocket'));
  server.on('upgrade', (req, socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}${WS_GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.on('data', (frame: Buffer) => {
      const text = decodeFrame(frame);
      if (text !== undefined) socket.write(encodeFrame(`${name}:${text}`, false));
    });
  });
  const port = await listen(server);
  return { port, close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }) };
}

/** A text frame (payload < 126 bytes), masked when sent by a client. */
export function encodeFrame(text: string, mask: boolean): Buffer {
  const payload = Buffer.from(text);
  const head = Buffer.from([0x81, (mask ? 0x80 : 0) | payload.length]);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([head, key, masked]);
}

export function decodeFrame(frame: Buffer): string | undefined {
  if (frame.length < 2 || (frame[0]! & 0x0f) !== 1) return undefined;
  const masked = (frame[1]! & 0x80) !== 0;
  const len = frame[1]! & 0x7f;
  if (!masked) return frame.subarray(2, 2 + len).toString();
  const key = frame.subarray(2, 6);
  return Buffer.from(frame.subarray(6, 6 + len).map((b, i) => b ^ key[i % 4]!)).toString();
}

/** Connects, sends `data`, and resolves with what came back once `done(received)` says so. */
export function exchange(port: number, data: string | Buffer, done: (received: Buffer) => boolean): Promise<{ received: Buffer; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (c: Buffer) => {
      received = Buffer.concat([received, c]);
      if (done(received)) resolve({ received, socket });
    });
    socket.on('close', () => reject(new Error(`closed after ${received.length} bytes: ${received.toString()}`)));
    socket.write(data);
  });
}
