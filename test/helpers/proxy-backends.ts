/** Real loopback backends and a small HTTP client for the outbound proxy's tests. */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Backend {
  readonly name: string;
  readonly port: number;
  /** Requests received so far. */
  hits: number;
  /** Replace how requests are answered (default: 200 with the backend's name). */
  handler: (req: IncomingMessage, res: ServerResponse, backend: Backend) => void;
  close(): Promise<void>;
}

export const answerName = (_req: IncomingMessage, res: ServerResponse, b: Backend): void => {
  res.setHeader('x-backend', b.name);
  res.end(b.name);
};

export async function startBackend(name: string): Promise<Backend> {
  const backend: Backend = {
    name,
    port: 0,
    hits: 0,
    handler: answerName,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    backend.hits++;
    backend.handler(req, res, backend);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (backend as { port: number }).port = (server.address() as AddressInfo).port;
  return backend;
}

export async function startBackends(n: number, prefix = 'b'): Promise<Backend[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => startBackend(`${prefix}${i}`)));
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One request to the proxy; `path` may be absolute (forward-proxy form). */
export function send(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A port with nothing listening (bound then closed). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export function counts(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}
