/**
 * A real hub with auth on, on loopback (port 0), its files in a fresh temporary data_dir and its
 * log captured, with REST and gRPC callers that present a bearer token. For the tests of the
 * hub's bearer verifiers (JWT, ServiceAccount tokens) and of what its logs never show.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../src/common/clock.js';
import { createLogger } from '../../src/common/logger.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { hubConfigSchema } from '../../src/config/hub-config.js';
import { Hub, type HubAddresses } from '../../src/hub/hub.js';
import { parseWith } from '../../src/model/parse-input.js';
import { createRegistryClient, type RegistryClient, type RegistryUnaryMethods, type UnaryMethod } from '../../src/wire/registry-client.js';
import { call, type Reply } from './http-rest-server.js';

export interface AuthHub {
  hub: Hub;
  addresses: HubAddresses;
  /** The bootstrap admin token the first start wrote. */
  adminToken: string;
  /** Every line the hub logged so far (JSON lines, debug level). */
  log(): string;
  rest(method: string, route: string, token?: string, body?: unknown): Promise<Reply>;
  /** A unary gRPC call with `authorization: Bearer <token>` when a token is given; rejects with the ServiceError. */
  grpc<K extends keyof RegistryUnaryMethods>(method: K, request: unknown, token?: string): Promise<unknown>;
  close(): Promise<void>;
}

export async function startAuthHub(
  t: { teardown(fn: () => void | Promise<void>): void },
  config: Record<string, unknown>,
  options: { clock?: Clock } = {},
): Promise<AuthHub> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'outrigger-auth-hub-'));
  const lines: string[] = [];
  const logger = createLogger('debug', {}, { write: (line) => lines.push(line) });
  const parsed = parseWith(hubConfigSchema, { bind: '127.0.0.1', grpc_port: 0, http_port: 0, data_dir: dataDir, ...config }, '', 'config_invalid');
  const hub = new Hub(parsed, { logger, ...(options.clock !== undefined ? { clock: options.clock } : {}) });
  let client: RegistryClient | undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    client?.close();
    const stopping = hub.stop();
    // A manual clock must be moved for the hub's shutdown grace timer to run out.
    if (options.clock instanceof ManualClock) options.clock.advance(2000);
    await stopping;
    rmSync(dataDir, { recursive: true, force: true });
  };
  t.teardown(close);
  const addresses = await hub.start();
  client = createRegistryClient(addresses.grpc);
  const registry = client;
  return {
    hub,
    addresses,
    adminToken: readFileSync(path.join(dataDir, 'bootstrap-token'), 'utf8').trim(),
    log: () => lines.join(''),
    rest: (method, route, token, body) => call({ url: addresses.http }, method, route, body, token !== undefined ? { authorization: `Bearer ${token}` } : {}),
    grpc: (method, request, token) =>
      new Promise((resolve, reject) => {
        const metadata = new grpc.Metadata();
        if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
        const fn = registry[method] as unknown as UnaryMethod<unknown, unknown>;
        fn.call(registry, request, metadata, {}, (err, res) => (err ? reject(err) : resolve(res)));
      }),
    close,
  };
}
