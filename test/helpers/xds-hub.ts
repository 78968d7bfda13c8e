import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../src/common/clock.js';
import type { Logger } from '../../src/common/logger.js';
import { HubMetrics } from '../../src/metrics/hub-metrics.js';
import { Registry } from '../../src/registry/registry.js';
import { AdsServer } from '../../src/xds/server/ads-server.js';
import { newRegistry } from './registry.js';

export interface XdsHub {
  registry: Registry;
  metrics: HubMetrics;
  ads: AdsServer;
  server: grpc.Server;
  port: number;
  address: string;
  close(): Promise<void>;
}

export interface XdsHubOptions {
  clock?: Clock;
  logger?: Logger;
  coalesceMs?: number;
  maxConcurrentInitial?: number;
  maxBytesInFlight?: number;
  writeStallMs?: number;
  registry?: Registry;
}

/** A real gRPC server on a loopback port with only the ADS service, over a fresh registry. */
export async function startXdsHub(opts: XdsHubOptions = {}): Promise<XdsHub> {
  const registry = opts.registry ?? newRegistry(opts.clock !== undefined ? { clock: opts.clock } : {});
  const metrics = new HubMetrics(registry);
  const ads = new AdsServer({
    registry,
    metrics,
    ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
    ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
    ...(opts.coalesceMs !== undefined ? { coalesceMs: opts.coalesceMs } : {}),
    ...(opts.maxConcurrentInitial !== undefined ? { maxConcurrentInitial: opts.maxConcurrentInitial } : {}),
    ...(opts.maxBytesInFlight !== undefined ? { maxBytesInFlight: opts.maxBytesInFlight } : {}),
    ...(opts.writeStallMs !== undefined ? { writeStallMs: opts.writeStallMs } : {}),
  });
  const server = new grpc.Server();
  ads.addTo(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    registry,
    metrics,
    ads,
    server,
    port,
    address: `127.0.0.1:${port}`,
    async close() {
      ads.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}

/** Registers an instance with the fields tests care about; the rest take their defaults. */
export function registerInstance(
  registry: Registry,
  fields: { id: string; service: string; namespace?: string; address?: string; port: number } & Record<string, unknown>,
): void {
  registry.register({ namespace: 'demo.local', address: '127.0.0.1', ttl: 0, ...fields });
}

/** The value of a counter or gauge child with these labels (0 when absent). */
export async function metricValue(
  metric: { get(): Promise<{ values: Array<{ labels: Record<string, string | number>; value: number }> }> },
  labels: Record<string, string>,
): Promise<number> {
  const data = await metric.get();
  const hit = data.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}
