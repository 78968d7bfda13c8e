import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HubMetrics } from '../../src/metrics/hub-metrics.js';
import { Registry } from '../../src/registry/registry.js';
import { AdsServer } from '../../src/xds/server/ads-server.js';
import { newRegistry } from './registry.js';

/**
 * The hub's real xDS side (AdsServer over a Registry) on a loopback port that survives a
 * restart: stop() makes the hub go away, start() brings it back on the same port with the same
 * registry (as a restarted hub refilled by its sidecars, or a replica sharing etcd).
 */
export class RestartableXdsHub {
  readonly registry: Registry;
  private port = 0;
  private server: grpc.Server | undefined;
  private current: AdsServer | undefined;

  private constructor(
    registry: Registry,
    private readonly coalesceMs: number,
  ) {
    this.registry = registry;
  }

  static async start(opts: { registry?: Registry; coalesceMs?: number } = {}): Promise<RestartableXdsHub> {
    const hub = new RestartableXdsHub(opts.registry ?? newRegistry(), opts.coalesceMs ?? 5);
    await hub.start();
    return hub;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get ads(): AdsServer {
    if (this.current === undefined) throw new Error('the hub is stopped');
    return this.current;
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  async start(): Promise<void> {
    if (this.current !== undefined) return;
    const ads = new AdsServer({ registry: this.registry, metrics: new HubMetrics(this.registry), coalesceMs: this.coalesceMs });
    const server = new grpc.Server();
    ads.addTo(server);
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
    this.current = ads;
  }

  /** The hub goes away: its streams end with UNAVAILABLE and the port is closed. */
  async stop(): Promise<void> {
    const ads = this.current;
    const server = this.server;
    this.current = undefined;
    this.server = undefined;
    ads?.close();
    server?.forceShutdown();
  }

  /** The names every open stream is subscribed to on a type, merged and sorted. */
  subscribedNames(typeUrl: string): string[] {
    if (this.current === undefined) return [];
    const names = new Set<string>();
    for (const s of this.current.describeStreams()) for (const t of s.types) if (t.type_url === typeUrl) t.names.forEach((n) => names.add(n));
    return [...names].sort();
  }
}

/** A loopback port nothing listens on (bound, then released). */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
