/**
 * A real hub (grpc-js server, addRegistryService, Registry) on a loopback port that can crash and
 * come back on the same port with an empty registry, as a restarted hub does. It records when
 * each instance's first registration reached the current registry, for the reconnect-spread test.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { AccessControl } from '../../src/auth/access-control.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { addRegistryService } from '../../src/hub/grpc-registry-service.js';
import { HubMetrics } from '../../src/metrics/hub-metrics.js';
import { Registry } from '../../src/registry/registry.js';
import { WAIT_MS } from './grpc-hub.js';
import { newRegistry } from './registry.js';
import { Changes, eventually } from './wait.js';

export class RestartableHub {
  /** The registry's clock: leases are held by sessions here, so it never needs to move. */
  readonly clock = new ManualClock();
  registry!: Registry;
  metrics!: HubMetrics;
  /** performance.now() at which each id was first registered in the current registry. */
  arrivals = new Map<string, number>();
  private port = 0;
  private server: grpc.Server | undefined;
  private readonly arrivalChanges = new Changes();

  static async start(): Promise<RestartableHub> {
    const hub = new RestartableHub();
    await hub.up();
    return hub;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts serving, on the same port as before if there was one, with an empty registry. */
  async up(): Promise<void> {
    if (this.server !== undefined) throw new Error('the hub is already up');
    const registry = newRegistry({ clock: this.clock, sweepIntervalMs: 1000 });
    registry.start();
    this.registry = registry;
    this.metrics = new HubMetrics(registry);
    this.arrivals = new Map();
    const arrivals = this.arrivals;
    registry.subscribe((c) => {
      if (c.kind !== 'instance' || c.op !== 'upsert' || arrivals.has(c.instance.id)) return;
      arrivals.set(c.instance.id, performance.now());
      this.arrivalChanges.changed();
    });
    const server = new grpc.Server();
    addRegistryService(server, { registry, metrics: this.metrics, clock: this.clock, access: AccessControl.disabled() });
    this.port = await bindSamePort(server, this.port);
    this.server = server;
  }

  /** Crashes: connections are cut without a goodbye, and the registry is gone with the process. */
  down(): void {
    this.server?.forceShutdown();
    this.server = undefined;
    this.registry.stop();
  }

  /** Resolves once `n` distinct ids have registered in the current registry. */
  untilArrivals(n: number, ms = WAIT_MS): Promise<void> {
    return this.arrivalChanges.until(() => `${n} instances to register (${this.arrivals.size} did)`, () => this.arrivals.size >= n, ms);
  }

  close(): void {
    if (this.server !== undefined) this.down();
  }
}

/**
 * Binds `port` (0: any). The listening socket of a server that was just shut down may take a
 * moment to be released, so a busy port is retried within a bound.
 */
async function bindSamePort(server: grpc.Server, port: number): Promise<number> {
  const bind = (): Promise<number> =>
    new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
  if (port === 0) return bind();
  let refused: unknown;
  return eventually(
    () => `port ${port} to be free again (${String(refused)})`,
    async () => {
      try {
        return await bind();
      } catch (err) {
        refused = err;
        return undefined;
      }
    },
    WAIT_MS,
    10,
  );
}

/** host:port of a loopback port nothing listens on (it was free a moment ago). */
export async function unusedAddress(): Promise<string> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `127.0.0.1:${port}`;
}
