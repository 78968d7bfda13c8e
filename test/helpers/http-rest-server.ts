import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessControl } from '../../src/auth/access-control.js';
import type { StaticTokens } from '../../src/auth/static-tokens.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import type { RateLimitOptions } from '../../src/common/rate-limit.js';
import { createRestHandler } from '../../src/hub/rest-api.js';
import { WriteLimiter } from '../../src/hub/write-limiter.js';
import { HubMetrics } from '../../src/metrics/hub-metrics.js';
import { Registry } from '../../src/registry/registry.js';
import { newRegistry } from './registry.js';

export interface RestServer {
  /** Base URL, e.g. http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  registry: Registry;
  metrics: HubMetrics;
  /** Drives the registry's timestamps and the rate limiter's buckets. */
  clock: ManualClock;
  /** What isReady() answers. */
  ready: { value: boolean };
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, when it is JSON. */
  json: any;
}

export interface RestServerOptions {
  maxBodyBytes?: number;
  /** Per-identity write limit (per address for callers without a name, such as everyone with auth off). */
  rateLimit?: RateLimitOptions;
  /** Default: auth off, everyone is an admin (tests about auth pass their own). */
  access?: (metrics: HubMetrics) => AccessControl;
  tokens?: StaticTokens;
  registry?: Registry;
  clock?: ManualClock;
}

/**
 * A real node:http server on 127.0.0.1, port 0, serving the REST handler over a fresh registry
 * whose clock is manual. The registry's lease sweep is not started: tests call sweep() themselves.
 */
export async function startRestServer(options: RestServerOptions = {}): Promise<RestServer> {
  const clock = options.clock ?? new ManualClock();
  const registry = options.registry ?? newRegistry({ clock });
  const metrics = new HubMetrics(registry);
  const ready = { value: true };
  const handler = createRestHandler({
    registry,
    metrics,
    clock,
    isReady: () => ready.value,
    access: options.access?.(metrics) ?? AccessControl.disabled(),
    writeLimiter: new WriteLimiter(clock, options.rateLimit),
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    ...(options.tokens !== undefined ? { tokens: options.tokens } : {}),
  });
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    registry,
    metrics,
    clock,
    ready,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * One request with real fetch. A non-string body is sent as JSON with the JSON content type;
 * a string body is sent as given, with the content type in `headers` (application/json unless set).
 */
export async function call(
  server: Pick<RestServer, 'url'>,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' || body instanceof Uint8Array || body instanceof ReadableStream ? (body as RequestInit['body']) : JSON.stringify(body);
    init.headers = { 'content-type': 'application/json', ...headers };
    if (body instanceof ReadableStream) (init as RequestInit & { duplex: 'half' }).duplex = 'half';
  }
  const res = await fetch(`${server.url}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
