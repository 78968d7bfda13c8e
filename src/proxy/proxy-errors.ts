/**
 * Failures the proxy itself produces, defined in one place with stable codes. Each becomes a
 * 502/503/504 with a JSON body `{"error": {"code", "message"}}` and an `x-outrigger-error` header
 * naming the cause (for gRPC callers: a trailers-only response with the matching grpc-status).
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

export const PROXY_ERROR_KINDS = {
  /** The name is not a known service (or passthrough is off for a host outside the mesh). */
  unknown_service: { http: 502, grpc: GrpcStatus.UNAVAILABLE },
  /** The service exists but no endpoint is routable. */
  no_healthy_upstream: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  /** A circuit-breaker threshold of the cluster is reached: fail fast. */
  overflow: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  /** The overall or per-try timeout (or the gRPC deadline) expired. */
  timeout: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED },
  /** The connection to the endpoint failed, or was reset before a response came. */
  upstream_reset: { http: 502, grpc: GrpcStatus.UNAVAILABLE },
} as const;

export type ProxyErrorCode = keyof typeof PROXY_ERROR_KINDS;

export const ERROR_HEADER = 'x-outrigger-error';
export const OVERFLOW_HEADER = 'x-outrigger-overflow';

export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  constructor(
    readonly code: ProxyErrorCode,
    message: string,
    /** For overflow: which breaker resource (requests, pending_requests, connections, retries). */
    readonly resource?: string,
  ) {
    super(message);
  }

  get httpStatus(): number {
    return PROXY_ERROR_KINDS[this.code].http;
  }

  get grpcStatus(): number {
    return PROXY_ERROR_KINDS[this.code].grpc;
  }

  body(): string {
    return JSON.stringify({ error: { code: this.code, message: this.message } });
  }

  /** Headers of the HTTP/1.1 or HTTP/2 error response (without :status). */
  headers(body: string): Record<string, string> {
    const h: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      [ERROR_HEADER]: this.code,
    };
    if (this.code === 'overflow') h[OVERFLOW_HEADER] = this.resource ?? 'requests';
    return h;
  }

  /** A gRPC trailers-only response. */
  grpcHeaders(): Record<string, string | number> {
    const h: Record<string, string | number> = {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': this.grpcStatus,
      'grpc-message': encodeURIComponent(this.message),
      [ERROR_HEADER]: this.code,
    };
    if (this.code === 'overflow') h[OVERFLOW_HEADER] = this.resource ?? 'requests';
    return h;
  }
}
