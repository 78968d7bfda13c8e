import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { eventually as poll } from './wait.js';

/**
 * A port that was free a moment ago, for a process that must come back on the same port
 * (a hub restarted after SIGKILL). Everything else in the tests binds port 0.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A tiny HTTP app whose health endpoint can be flipped, as the app beside a sidecar. */
export async function flippableApp(): Promise<{ port: number; setHealthy(ok: boolean): void; close(): Promise<void> }> {
  let healthy = true;
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok' : 'down');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    setHealthy: (ok) => {
      healthy = ok;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** GET a JSON document; undefined when nothing answers. */
export async function getJson<T>(url: string): Promise<{ status: number; body: T } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: (await res.json()) as T };
  } catch {
    return undefined;
  }
}

/** Polls until the check returns a value other than undefined, or fails after `ms`. */
export function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 40_000): Promise<T> {
  return poll(what, check, ms, 100);
}
