/**
 * A small mesh for fuzzing the sidecar's outbound proxy from outside: a hub with auth on, a
 * sidecar in this process (built and started as `outrigger sidecar` builds it, passthrough off)
 * presenting a service token, the service `echo.demo.local` served by a backend that records
 * every request it gets, and a second backend that is in no service, which nothing may reach.
 * Plus a raw HTTP/1.1 exchange over a socket, for requests no HTTP client would send.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveSidecarConfig, sidecarConfigSchema } from '../../src/config/sidecar-config.js';
import { parseWith } from '../../src/model/parse-input.js';
import { Sidecar, type SidecarAddresses } from '../../src/sidecar/sidecar.js';
import { startAuthHub, type AuthHub } from './auth-hub.js';
import { eventually } from './wait.js';

/** A request as a backend received it. */
export interface Received {
  method: string;
  url: string;
  /** Header names, lower case, in order. */
  headerNames: string[];
  headers: http.IncomingHttpHeaders;
}

export interface RecordingBackend {
  port: number;
  received: Received[];
  /** TCP connections accepted (a CONNECT tunnel opens one without any HTTP request). */
  connections: number;
  close(): Promise<void>;
}

export async function startRecordingBackend(name: string): Promise<RecordingBackend> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headerNames: req.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase()), headers: req.headers });
    req.resume();
    req.on('end', () => res.end(name));
  });
  const backend: RecordingBackend = { port: 0, received, connections: 0, close: async () => undefined };
  server.on('connection', () => backend.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as AddressInfo).port;
  backend.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return backend;
}

export interface FuzzMesh {
  hub: AuthHub;
  sidecar: Sidecar;
  addresses: SidecarAddresses;
  echo: RecordingBackend;
  /** In no service: any request or connection reaching it went where it should not. */
  outsider: RecordingBackend;
  close(): Promise<void>;
}

export async function startFuzzMesh(): Promise<FuzzMesh> {
  const hub = await startAuthHub({}, { logLevel: 'warn' });
  const echo = await startRecordingBackend('echo');
  const outsider = await startRecordingBackend('outsider');
  // The sidecar's own app: something for its TCP health check to connect to.
  const app = net.createServer((s) => s.end());
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  hub.hub.registry.register({ id: 'echo-1', service: 'echo', namespace: 'demo.local', address: '127.0.0.1', port: echo.port, ttl: 0 });
  hub.hub.registry.putService('demo.local', 'idle');
  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-fuzz-mesh-'));
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, await hub.token('service', ['demo.local/client']));
  const config = parseWith(
    sidecarConfigSchema,
    {
      service: 'client',
      namespace: 'demo.local',
      instance_id: 'client-1',
      app: { port: (app.address() as AddressInfo).port },
      health_check: { type: 'tcp', interval: '1s' },
      hubs: [hub.addresses.grpc],
      hub_token_file: tokenFile,
      admin_bind: '127.0.0.1',
      admin_port: 0,
      outbound_port: 0,
      dns: { listen: 'off' },
      cache_file: 'off',
      // Nothing outside the mesh is reachable through the proxy, so every hit on a backend is accounted for.
      passthrough: false,
      log_level: 'warn',
    },
    'test',
    'config_invalid',
  );
  const sidecar = new Sidecar(resolveSidecarConfig(config, {}));
  const addresses = await sidecar.start();
  const close = async (): Promise<void> => {
    await sidecar.stop();
    await hub.close();
    await echo.close();
    await outsider.close();
    await new Promise<void>((resolve) => app.close(() => resolve()));
  };
  try {
    await eventually('the proxy to route to echo.demo.local', async () => {
      const a = await rawExchange(addresses.outboundPort, Buffer.from('GET http://echo.demo.local/ready HTTP/1.1\r\nHost: echo.demo.local\r\n\r\n'), 5000);
      return a.kind === 'response' && a.status === 200 ? true : undefined;
    });
  } catch (err) {
    await close();
    throw err;
  }
  echo.received.length = 0;
  return { hub, sidecar, addresses, echo, outsider, close };
}

export type RawAnswer =
  | { kind: 'response'; status: number; headers: Record<string, string>; head: string }
  /** The server closed the connection without a response. */
  | { kind: 'closed' };

/**
 * Writes `bytes` on a fresh connection and resolves with the first final response head (1xx are
 * skipped), or with `closed` when the connection ends before one; the connection is then closed.
 * Rejects when neither happens within `boundMs`: the request hangs.
 */
export function rawExchange(port: number, bytes: Buffer, boundMs: number): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      settle();
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`no answer and no close within ${boundMs} ms`))), boundMs);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
        if (m === null) return finish(() => reject(new Error(`not an HTTP response: ${JSON.stringify(head.slice(0, 200))}`)));
        const status = Number(m[1]);
        if (status >= 100 && status < 200 && status !== 101) continue;
        const headers: Record<string, string> = {};
        for (const line of head.split('\r\n').slice(1)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        return finish(() => resolve({ kind: 'response', status, headers, head }));
      }
    });
    socket.on('error', () => finish(() => resolve({ kind: 'closed' })));
    socket.on('close', () => finish(() => resolve({ kind: 'closed' })));
    socket.write(bytes);
  });
}
