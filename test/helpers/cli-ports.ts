import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { CliProcess } from './cli-process.js';

/**
 * A port that was free a moment ago, for a process that must come back on the same port
 * (a hub restarted after SIGKILL). Everything else in the tests binds port 0.
 *
 * It is taken from below the kernel's ephemeral range: every `listen(0)` and every outgoing
 * connection of the tests running alongside draws from that range, and one of them could take
 * the port in the moment the hub is away, so the sidecars would reconnect to a stranger.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; ; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    const server = net.createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return port;
    }
    if (attempt >= 50) throw new Error(`no free port between 10000 and ${low}`);
  }
}

/** The first port of the kernel's ephemeral range (Linux; 32768 where it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
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
export async function getJson<T>(url: string, token?: string): Promise<{ status: number; body: T } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000), ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {}) });
    return { status: res.status, body: (await res.json()) as T };
  } catch {
    return undefined;
  }
}

/** Bound for a wait on real processes: node processes started on a loaded 2-core box. */
export const PROCESS_WAIT_MS = 40_000;
/** Checks of real processes are HTTP calls: polled gently, to leave the box to the processes. */
export const PROCESS_POLL_MS = 100;

/**
 * What a wait is for, with the state and stderr of each process in `watched` added at a timeout:
 * a wait that failed because a process died reads as that, not as slowness.
 */
export function watching(what: string, watched: readonly CliProcess[]): () => string {
  return () => `${what}\n${watched.map((p) => p.describe()).join('\n')}`;
}
