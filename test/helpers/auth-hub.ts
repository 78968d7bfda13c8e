/**
 * A whole hub in this process with auth on, as `outrigger hub` runs it: a temp data dir (so the
 * first start bootstraps an admin token there), real REST and gRPC listeners on loopback. Tokens
 * for the tests are made through the hub's own token store, as the token API makes them, and
 * every log line is kept so tests can read the audit trail and look for leaked secrets.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { issueToken } from '../../src/auth/token-request.js';
import type { Clock } from '../../src/common/clock.js';
import { createLogger, type LogLevel } from '../../src/common/logger.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { hubConfigSchema } from '../../src/config/hub-config.js';
import { Hub, type HubAddresses } from '../../src/hub/hub.js';
import { parseWith } from '../../src/model/parse-input.js';
import { createRegistryClient, type RegistryClient, type RegistryUnaryMethods, type UnaryMethod } from '../../src/wire/registry-client.js';

export interface AuthHub {
  hub: Hub;
  addresses: HubAddresses;
  /** The bootstrap admin token. */
  admin: string;
  dataDir: string;
  /** Every log line the hub wrote, as parsed JSON. */
  logs: Array<Record<string, unknown>>;
  /** The raw log text, to search for secrets. */
  logText(): string;
  /** Makes a token (as POST /api/v1/auth/tokens does) and returns its secret. */
  token(role: string, scopes: string[], extra?: Record<string, unknown>): Promise<string>;
  /** A REST call with `token` (none when undefined); `json` is the parsed body when it is JSON. */
  rest(method: string, route: string, token: string | undefined, body?: unknown): Promise<{ status: number; headers: Headers; text: string; json: any }>;
  /** A gRPC registry client that sends `token` on every call (none when undefined). */
  client(token: string | undefined): RegistryClient;
  /** One unary gRPC call with `token`; rejects with the ServiceError. */
  grpc<K extends keyof RegistryUnaryMethods>(method: K, request: unknown, token?: string): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * The hub's clock may be a ManualClock: it is moved past the shutdown grace timer on close.
 * `logLevel` keeps fewer lines (default debug: every line), for runs of many thousands of requests.
 */
export async function startAuthHub(config: Record<string, unknown> = {}, options: { clock?: Clock; logLevel?: LogLevel } = {}): Promise<AuthHub> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'outrigger-auth-hub-'));
  const logs: Array<Record<string, unknown>> = [];
  let text = '';
  const logger = createLogger(options.logLevel ?? 'debug', {}, {
    write(line: string) {
      text += line;
      logs.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  const parsed = parseWith(hubConfigSchema, { bind: '127.0.0.1', grpc_port: 0, http_port: 0, dns: { listen: '127.0.0.1:0' }, data_dir: dataDir, ...config }, '', 'config_invalid');
  const hub = new Hub(parsed, { logger, ...(options.clock !== undefined ? { clock: options.clock } : {}) });
  const addresses = await hub.start();
  const admin = readFileSync(path.join(dataDir, 'bootstrap-token'), 'utf8').trim();
  const clients: RegistryClient[] = [];
  let plain: RegistryClient | undefined;
  let closed = false;
  return {
    hub,
    addresses,
    admin,
    dataDir,
    logs,
    logText: () => text,
    async token(role, scopes, extra = {}) {
      const { record, secret } = issueToken({ name: `${role} for ${scopes.join(' ')}`, role, scopes, ...extra }, Date.now());
      await hub.tokens!.add(record);
      return secret;
    },
    async rest(method, route, token, body) {
      const headers: Record<string, string> = {};
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${addresses.http}${route}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const raw = await res.text();
      const isJson = res.headers.get('content-type')?.startsWith('application/json') === true;
      return { status: res.status, headers: res.headers, text: raw, json: isJson ? JSON.parse(raw) : undefined };
    },
    grpc(method, request, token) {
      return new Promise((resolve, reject) => {
        const metadata = new grpc.Metadata();
        if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
        const c = plain ?? (plain = createRegistryClient(addresses.grpc));
        const fn = c[method] as unknown as UnaryMethod<unknown, unknown>;
        fn.call(c, request, metadata, {}, (err, res) => (err ? reject(err) : resolve(res)));
      });
    },
    client(token) {
      const interceptor: grpc.Interceptor = (options, next) =>
        new grpc.InterceptingCall(next(options), {
          start(metadata, listener, nextStart) {
            if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
            nextStart(metadata, listener);
          },
        });
      const c = createRegistryClient(addresses.grpc, grpc.credentials.createInsecure(), { interceptors: [interceptor] });
      clients.push(c);
      return c;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const c of [...clients, ...(plain !== undefined ? [plain] : [])]) c.close();
      const stopping = hub.stop();
      // A manual clock must be moved for the hub's shutdown grace timer to run out.
      if (options.clock instanceof ManualClock) options.clock.advance(2000);
      await stopping;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** startAuthHub, closed when the test ends. */
export async function startAuthHubFor(t: { teardown(fn: () => Promise<void>): void }, ...args: Parameters<typeof startAuthHub>): Promise<AuthHub> {
  const h = await startAuthHub(...args);
  t.teardown(() => h.close());
  return h;
}
