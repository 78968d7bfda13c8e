/**
 * When a failed attempt may be tried again, and how long to wait first (Envoy's semantics).
 * A retry needs: attempts left (`num_retries`), a request that can be replayed (an idempotent
 * method without a streamed body, or a gRPC call whose body is still buffered), a retriable
 * cause under `retry_on`, and room in the cluster's retry budget (the breaker's `retries`).
 */
import type { ServiceConfig } from '../model/service-config.js';
import { ProxyError } from './proxy-errors.js';

export type FailureCause = 'connect-failure' | 'reset' | 'timeout';

/** Request bodies up to this size are kept in memory, so that a failed attempt can be replayed. */
export const REPLAY_BUFFER_LIMIT = 64 * 1024;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/** Backoff between attempts: full jitter under base × 2^n, capped (Envoy: 25 ms base, 10× cap). */
export const RETRY_BACKOFF_BASE_MS = 25;
export const RETRY_BACKOFF_MAX_MS = 250;

export function retryBackoffMs(retry: number, random: () => number): number {
  const ceiling = Math.min(RETRY_BACKOFF_MAX_MS, RETRY_BACKOFF_BASE_MS * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/** An attempt that failed before any response: connect failure, reset, per-try timeout. */
export function retriableFailure(config: ServiceConfig['retry'], cause: FailureCause): boolean {
  const on = config.retry_on;
  switch (cause) {
    case 'connect-failure':
      return on.includes('connect-failure') || on.includes('gateway-error') || on.includes('5xx');
    case 'reset':
      return on.includes('reset') || on.includes('5xx') || on.includes('gateway-error');
    case 'timeout':
      // A per-try timeout counts as a gateway failure in Envoy (retried under 5xx / gateway-error).
      return on.includes('5xx') || on.includes('gateway-error') || on.includes('reset');
  }
}

/**
 * An HTTP response status worth retrying. `unavailable` also covers HTTP 503 — it is the same
 * condition (the endpoint cannot take the request now), so the default retry_on retries a 503
 * without every service listing retriable-status-codes.
 */
export function retriableStatus(config: ServiceConfig['retry'], status: number): boolean {
  if (status < 500) return config.retry_on.includes('retriable-status-codes') && config.retriable_status_codes.includes(status);
  const on = config.retry_on;
  if (on.includes('5xx')) return true;
  if (on.includes('gateway-error') && (status === 502 || status === 503 || status === 504)) return true;
  if (on.includes('unavailable') && status === 503) return true;
  return on.includes('retriable-status-codes') && config.retriable_status_codes.includes(status);
}

/** gRPC UNAVAILABLE (14) retried under `unavailable`; other codes under retriable-status-codes' HTTP mapping are not. */
export function retriableGrpcStatus(config: ServiceConfig['retry'], grpcStatus: number): boolean {
  return grpcStatus === 14 && config.retry_on.includes('unavailable');
}

/** Classifies an undici / socket error. */
export function failureCause(err: unknown): FailureCause {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'connect-failure';
    default:
      return 'reset';
  }
}

/** The error a call ends with when its last try failed without a response. */
export function failureError(cause: FailureCause, cluster: string, err: unknown): ProxyError {
  const detail = err instanceof Error ? err.message : String(err);
  switch (cause) {
    case 'timeout':
      return new ProxyError('timeout', `cluster ${cluster}: per-try timeout expired`);
    case 'connect-failure':
      return new ProxyError('upstream_reset', `cluster ${cluster}: upstream connect failure (${detail})`);
    case 'reset':
      return new ProxyError('upstream_reset', `cluster ${cluster}: upstream connection reset before a complete response (${detail})`);
  }
}
