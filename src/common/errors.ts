import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * Every error Outrigger reports to a caller has a stable code, defined here and only here.
 * The same code maps to an HTTP status (REST) and a gRPC status, so both APIs say the same thing.
 */
export const ERROR_KINDS = {
  invalid_argument: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  malformed_json: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  not_found: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  method_not_allowed: { http: 405, grpc: GrpcStatus.UNIMPLEMENTED },
  already_exists: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS },
  failed_precondition: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION },
  payload_too_large: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  unsupported_media_type: { http: 415, grpc: GrpcStatus.INVALID_ARGUMENT },
  rate_limited: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  resource_exhausted: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  unavailable: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  internal: { http: 500, grpc: GrpcStatus.INTERNAL },
  config_invalid: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  /** A pod's `outrigger.io/*` annotation the injector cannot use. */
  annotation_invalid: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
} as const;

export type ErrorCode = keyof typeof ERROR_KINDS;

export class OutriggerError extends Error {
  override readonly name = 'OutriggerError';
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
