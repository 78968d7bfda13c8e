import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * Every error Outrigger reports, with its stable code, defined here and only here: the hub's
 * APIs (REST and gRPC), the CLI, config loading, the injector, and the sidecar's proxy. A code
 * maps to an HTTP status and a gRPC status, so every surface says the same thing; `meaning` is
 * the line the README's error table shows.
 */
export const ERROR_KINDS = {
  invalid_argument: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, meaning: 'a field of the request is missing or not allowed; the message names it' },
  malformed_json: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, meaning: 'the body is not JSON; the message says where it stops parsing' },
  not_found: { http: 404, grpc: GrpcStatus.NOT_FOUND, meaning: 'no such namespace, service, instance or route' },
  method_not_allowed: { http: 405, grpc: GrpcStatus.UNIMPLEMENTED, meaning: 'the path exists but not with this method' },
  already_exists: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS, meaning: 'a resource of that name exists and creating it again is refused' },
  failed_precondition: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, meaning: 'the registry is not in a state that allows it (a namespace still holding services, a static instance)' },
  payload_too_large: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED, meaning: 'the body is over the size limit' },
  unsupported_media_type: { http: 415, grpc: GrpcStatus.INVALID_ARGUMENT, meaning: 'the body is not application/json' },
  unauthenticated: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED, meaning: 'no credentials, or credentials the hub does not accept (unknown, revoked or expired token, untrusted certificate); the message says which' },
  permission_denied: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, meaning: 'the caller may not do this; the message names the action, the resource and what the caller is allowed' },
  rate_limited: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED, meaning: 'too many writes by this identity (or this address, for callers without one); retry after the time given' },
  resource_exhausted: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED, meaning: 'a limit on instances, streams or clusters is reached' },
  unavailable: { http: 503, grpc: GrpcStatus.UNAVAILABLE, meaning: 'not ready yet, shutting down, or the hub (or the Kubernetes API server it checks ServiceAccount tokens with) cannot be reached' },
  store_unavailable: { http: 503, grpc: GrpcStatus.UNAVAILABLE, meaning: "the hub's shared store (etcd) cannot be reached or has lost quorum: reads go on from the last snapshot, writes are refused; retry after Retry-After" },
  internal: { http: 500, grpc: GrpcStatus.INTERNAL, meaning: 'a bug: the log has the details' },
  config_invalid: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, meaning: 'a config key (file, environment or flag) is not allowed; the message names it' },
  annotation_invalid: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, meaning: "a pod's outrigger.io/* annotation cannot be used; the message names it" },
  // The sidecar's proxy: answered to the app instead of an upstream response (x-outrigger-error).
  unknown_service: { http: 502, grpc: GrpcStatus.UNAVAILABLE, meaning: 'proxy: the name is not a known service (or passthrough is off for a host outside the mesh)' },
  no_healthy_upstream: { http: 503, grpc: GrpcStatus.UNAVAILABLE, meaning: 'proxy: the service exists but no endpoint is routable' },
  overflow: { http: 503, grpc: GrpcStatus.UNAVAILABLE, meaning: 'proxy: a circuit-breaker threshold is reached (x-outrigger-overflow names which); fail fast' },
  timeout: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED, meaning: 'proxy: the overall or per-try timeout, or the gRPC deadline, expired' },
  upstream_reset: { http: 502, grpc: GrpcStatus.UNAVAILABLE, meaning: 'proxy: the connection to the endpoint failed, or was reset before a response came' },
} as const satisfies Record<string, { http: number; grpc: GrpcStatus; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_KINDS;

export class OutriggerError extends Error {
  override readonly name: string = 'OutriggerError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The input field the error is about, as the caller spelled it (e.g. `port`, `metadata.team`). */
    readonly field?: string,
  ) {
    super(message);
  }

  get httpStatus(): number {
    return ERROR_KINDS[this.code].http;
  }

  get grpcStatus(): GrpcStatus {
    return ERROR_KINDS[this.code].grpc;
  }

  toJSON(): { error: { code: ErrorCode; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field !== undefined ? { field: this.field } : {}) } };
  }
}

export const invalidArgument = (field: string, message: string): OutriggerError =>
  new OutriggerError('invalid_argument', message, field);

export const notFound = (message: string, field?: string): OutriggerError => new OutriggerError('not_found', message, field);

/** Wraps anything thrown into an OutriggerError, keeping coded errors as they are. */
export function asOutriggerError(err: unknown): OutriggerError {
  if (err instanceof OutriggerError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new OutriggerError('internal', message);
}

/**
 * Seconds a client is told to wait (Retry-After) before retrying a write the shared store
 * refused: the store comes back on its own, and its quorum probe notices within a few seconds.
 */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** The Retry-After every HTTP surface sends with an error, where the error has one. */
export function storeRetryAfter(err: unknown): number | undefined {
  return err instanceof OutriggerError && err.code === 'store_unavailable' ? STORE_RETRY_AFTER_SECONDS : undefined;
}
