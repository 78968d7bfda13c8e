/**
 * Where the raw-socket path finds its upstream pools: a mesh endpoint's pool lives with the
 * endpoint's other connections (EndpointConnections, closed when the endpoint goes); a host
 * outside the mesh (passthrough) gets a pool of its own by host and port.
 */
import type { Clock } from '../../common/clock.js';
import { DeadlineQueue } from '../../common/deadline-queue.js';
import type { Endpoint } from '../../balancers/endpoint.js';
import type { AttemptHandle } from '../attempt-handle.js';
import type { LlhttpBinding } from './llhttp-parser.js';
import { UpstreamPool, type PoolObserver } from './upstream-pool.js';

/** How long an idle upstream connection is kept open. */
export const IDLE_TIMEOUT_MS = 30_000;
/** Connections per passthrough host (as the passthrough agent of the node:http path). */
const PASSTHROUGH_CONNECTIONS = 128;

export class UpstreamPools {
  private readonly idle: DeadlineQueue;
  private readonly hosts = new Map<string, UpstreamPool>();

  constructor(
    private readonly binding: LlhttpBinding,
    private readonly clock: Clock,
  ) {
    this.idle = new DeadlineQueue(clock, IDLE_TIMEOUT_MS);
  }

  ofEndpoint(attempt: AttemptHandle): UpstreamPool {
    return attempt.connections.raw(this.forEndpoint);
  }

  private readonly forEndpoint = (endpoint: Endpoint, maxConnections: number, observer: PoolObserver): UpstreamPool =>
    this.create(endpoint.address, endpoint.port, maxConnections, observer);

  ofHost(host: string, port: number): UpstreamPool {
    const key = `${host}:${port}`;
    let pool = this.hosts.get(key);
    if (pool === undefined) {
      pool = this.create(host, port, PASSTHROUGH_CONNECTIONS, undefined);
      this.hosts.set(key, pool);
    }
    return pool;
  }

  close(): void {
    for (const pool of this.hosts.values()) pool.close();
    this.hosts.clear();
  }

  private create(host: string, port: number, maxConnections: number, observer: PoolObserver | undefined): UpstreamPool {
    return new UpstreamPool({ host, port, maxConnections, binding: this.binding, clock: this.clock, idle: this.idle, observer });
  }
}
