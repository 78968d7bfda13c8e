/**
 * Failures the proxy itself produces, with codes from the one error catalogue (common/errors.ts).
 * Each becomes a 502/503/504 with a JSON body `{"error": {"code", "message"}}` and an `x-outrigger-error` header
 * naming the cause (for gRPC callers: a trailers-only response with the matching grpc-status).
 */
import { wellFormed } from '../common/well-formed.js';
import { OutriggerError, type ErrorCode } from '../common/errors.js';

/** The codes of the error catalogue the proxy itself answers with. */
export const PROXY_ERROR_CODES = ['unknown_service', 'no_healthy_upstream', 'overflow', 'timeout', 'upstream_reset'] as const satisfies readonly ErrorCode[];
export type ProxyErrorCode = (typeof PROXY_ERROR_CODES)[number];

export const ERROR_HEADER = 'x-outrigger-error';
export const OVERFLOW_HEADER = 'x-outrigger-overflow';

export class ProxyError extends OutriggerError {
  override readonly name = 'ProxyError';
  constructor(
    override readonly code: ProxyErrorCode,
    message: string,
    /** For overflow: which breaker resource (requests, pending_requests, connections, retries). */
    readonly resource?: string,
  ) {
    super(code, message);
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
      'grpc-message': encodeURIComponent(wellFormed(this.message)),
      [ERROR_HEADER]: this.code,
    };
    if (this.code === 'overflow') h[OVERFLOW_HEADER] = this.resource ?? 'requests';
    return h;
  }
}
