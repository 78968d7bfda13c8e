/**
 * What a sidecar asserts about its app's instance, and that assertion as a Session register
 * request. The id is stable (the pod UID on Kubernetes), so registering again after a reconnect
 * replaces the instance at the hub instead of adding a second one.
 */
import type { CheckedHealth, Health } from '../model/health.js';
import type { Protocol } from '../model/protocol.js';
import type { RegisterRequest, WireDuration, WireProtocol } from '../wire/messages.js';

export interface Registration {
  /** Stable across restarts of the app and reconnects; required. */
  id: string;
  service: string;
  /** Empty: the hub's default namespace. */
  namespace: string;
  address: string;
  port: number;
  /** Default http. */
  protocol?: Protocol;
  version?: string;
  zone?: string;
  region?: string;
  /** 1 to 1000; default 100 (the hub's). */
  weight?: number;
  metadata?: Record<string, string>;
  /** Health to register with before the first check result; default UNKNOWN. */
  health?: CheckedHealth;
  /** How long the hub keeps the instance once the session drops (the lease TTL). */
  ttl_ms: number;
  /** Removal delay after the lease expired; default: the service's. */
  deregister_critical_after_ms?: number;
}

const PROTOCOL_TO_WIRE: Record<Protocol, WireProtocol> = {
  http: 'PROTOCOL_HTTP',
  http2: 'PROTOCOL_HTTP2',
  grpc: 'PROTOCOL_GRPC',
  tcp: 'PROTOCOL_TCP',
};

function durationFromMs(ms: number): WireDuration {
  const whole = Math.max(0, Math.round(ms));
  return { seconds: Math.floor(whole / 1000), nanos: (whole % 1000) * 1_000_000 };
}

/** The register request for `registration` carrying `health`, the health asserted right now. */
export function registerRequest(registration: Registration, health: Health): RegisterRequest {
  const r = registration;
  const req: RegisterRequest = {
    id: r.id,
    service: r.service,
    namespace: r.namespace,
    address: r.address,
    port: r.port,
    protocol: PROTOCOL_TO_WIRE[r.protocol ?? 'http'],
    health,
    source: 'SOURCE_SELF',
    ttl: durationFromMs(r.ttl_ms),
  };
  if (r.version !== undefined) req.version = r.version;
  if (r.zone !== undefined) req.zone = r.zone;
  if (r.region !== undefined) req.region = r.region;
  if (r.weight !== undefined) req.weight = r.weight;
  if (r.metadata !== undefined) req.metadata = { ...r.metadata };
  if (r.deregister_critical_after_ms !== undefined) req.deregister_critical_after = durationFromMs(r.deregister_critical_after_ms);
  return req;
}
