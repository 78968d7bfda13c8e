/**
 * One upstream try of a call, as the cluster runtime hands it out (grpc-js's pick result with its
 * own on-call-started / on-call-ended hooks): the picked endpoint and its connections, the
 * `pending_requests` slot while the try waits for a connection, and the outlier accounting.
 * `end()` closes it once; every protocol ends its tries the same way.
 */
import type { Clock } from '../common/clock.js';
import { LOCAL_ORIGIN_FAILURE } from '../balancers/call-outcome.js';
import type { CircuitBreaker } from '../balancers/circuit-breaker.js';
import type { Endpoint } from '../balancers/endpoint.js';
import type { LoadBalancer } from '../balancers/load-balancer.js';
import type { EndpointConnections } from './endpoint-connections.js';

export class AttemptHandle {
  /** Monotonic ms when the try started (for its latency). */
  readonly startedAt: number;
  private ended = false;
  private connected = false;

  constructor(
    readonly endpoint: Endpoint,
    readonly connections: EndpointConnections,
    private readonly breaker: CircuitBreaker,
    /** The outlier-detection wrapper: it passes each hook on to the policy's balancer. */
    private readonly balancer: LoadBalancer,
    private readonly clock: Clock,
    /** The try holds a `pending_requests` slot until it is on a connection. */
    private holdsPending: boolean,
  ) {
    this.startedAt = clock.monotonic();
    balancer.onCallStarted(endpoint);
  }

  /** The try is on a connection (or over): its pending slot goes back. */
  readonly releasePending = (): void => {
    if (!this.holdsPending) return;
    this.holdsPending = false;
    this.breaker.release('pending_requests');
  };

  /** A tunnel's own connection (TCP, CONNECT, WebSocket) opened: counted until end(). */
  connectionOpened(): void {
    this.connected = true;
    this.balancer.onConnectionOpened(this.endpoint);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Reports how the try ended, once: an HTTP status (gRPC mapped) or LOCAL_ORIGIN_FAILURE, and the
   * latency to the response (measured from the start when not given; none for a local failure).
   */
  end(outcome: number, latencyMs: number | undefined = outcome === LOCAL_ORIGIN_FAILURE ? undefined : this.clock.monotonic() - this.startedAt): void {
    this.releasePending();
    if (this.ended) return;
    this.ended = true;
    if (this.connected) this.balancer.onConnectionClosed(this.endpoint);
    this.balancer.onCallEnded(this.endpoint, outcome, latencyMs);
  }
}
