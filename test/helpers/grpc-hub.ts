/**
 * A real grpc-js server with the registry service on a loopback port, a ManualClock-driven
 * registry behind it, and real clients. Shared by the hub's gRPC, Watch and Session tests.
 */
import * as grpc from '@grpc/grpc-js';
import type { ExecutionContext } from 'ava';
import { AccessControl } from '../../src/auth/access-control.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { addRegistryService } from '../../src/hub/grpc-registry-service.js';
import { HubMetrics } from '../../src/metrics/hub-metrics.js';
import { Registry, type RegistryOptions } from '../../src/registry/registry.js';
import { createRegistryClient, errorDetails, type RegistryClient } from '../../src/wire/registry-client.js';
import { newRegistry } from './registry.js';

/** Upper bound for anything that waits on real I/O; a loaded CI box can be slow. Never a sleep. */
export const WAIT_MS = 15_000;

export interface GrpcHub {
  clock: ManualClock;
  registry: Registry;
  metrics: HubMetrics;
  service: { close(): void };
  address: string;
  client: RegistryClient;
  newClient(): RegistryClient;
  close(): void;
}

export async function startGrpcHub(
  options: { watchBufferLimit?: number; registry?: RegistryOptions; access?: AccessControl } = {},
): Promise<GrpcHub> {
  const clock = new ManualClock();
  const registry = newRegistry({ clock, sweepIntervalMs: 1000, ...options.registry });
  registry.start();
  const metrics = new HubMetrics(registry);
  const server = new grpc.Server();
  const service = addRegistryService(server, {
    registry,
    metrics,
    clock,
    // Auth off unless a test about auth brings its own.
    access: options.access ?? AccessControl.disabled(),
    ...(options.watchBufferLimit !== undefined ? { watchBufferLimit: options.watchBufferLimit } : {}),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const address = `127.0.0.1:${port}`;
  const clients: RegistryClient[] = [];
  const newClient = (): RegistryClient => {
    const c = createRegistryClient(address);
    clients.push(c);
    return c;
  };
  return {
    clock,
    registry,
    metrics,
    service,
    address,
    client: newClient(),
    newClient,
    close() {
      service.close();
      for (const c of clients) c.close();
      server.forceShutdown();
      registry.stop();
    },
  };
}

/** Asserts that `promise` fails with grpc `code`, and, when given, the hub's error field. */
export async function rejectsWith(
  t: ExecutionContext,
  promise: Promise<unknown>,
  code: grpc.status,
  field?: string,
): Promise<grpc.ServiceError> {
  const err = await t.throwsAsync<grpc.ServiceError>(promise);
  if (err === undefined) throw new Error('expected the call to fail');
  t.is(err.code, code, `status ${grpc.status[err.code]}: ${err.details}`);
  if (field !== undefined) t.is(errorDetails(err).field, field, err.details);
  return err;
}

/** Current value of a labelled metric, 0 when never set. */
export async function metricValue(
  metric: { get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }> },
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return hit?.value ?? 0;
}
