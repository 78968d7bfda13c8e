/**
 * How the hub's coded errors travel over gRPC: the status and message of the OutriggerError,
 * plus its stable code and field in trailing metadata, so a program can react to the field
 * without parsing the message.
 */
import * as grpc from '@grpc/grpc-js';
import { OutriggerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { WireError } from './messages.js';

export const ERROR_CODE_KEY = 'outrigger-error-code';
export const ERROR_FIELD_KEY = 'outrigger-error-field';

/** An error as grpc-js servers accept it (callback error or a stream's 'error' event). */
export interface GrpcStatusError {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
}

/** Coded errors pass through; anything else is a bug, logged here and reported as INTERNAL. */
export function codedError(err: unknown, logger: Logger): OutriggerError {
  if (err instanceof OutriggerError) return err;
  logger.error('registry grpc handler failed', { err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return new OutriggerError('internal', 'internal error (see the hub log)');
}

export function toGrpcError(err: OutriggerError): GrpcStatusError {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_KEY, err.code);
  if (err.field !== undefined) metadata.set(ERROR_FIELD_KEY, err.field);
  return { code: err.grpcStatus, details: err.message, metadata };
}

/** The in-stream form, for Session answers. */
export function toWireError(err: OutriggerError): WireError {
  return {
    grpc_code: err.grpcStatus,
    code: err.code,
    message: err.message,
    ...(err.field !== undefined ? { field: err.field } : {}),
  };
}

/** A status name for metric labels: "OK", "INVALID_ARGUMENT", ... */
export function statusName(code: grpc.status): string {
  return grpc.status[code] ?? String(code);
}

/** The status name a stream ends with: OK, or the error's. */
export function endStatusName(error: OutriggerError | undefined): string {
  return error === undefined ? 'OK' : statusName(error.grpcStatus);
}

/**
 * Ends a server stream: with OK when no error is given, else with the error as its status
 * (grpc-js turns an 'error' event on a server stream into the call's final status). A call the
 * client cancelled is already over.
 */
export function endServerStream(call: grpc.ServerDuplexStream<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, error?: OutriggerError): void {
  if (call.cancelled) return;
  if (error === undefined) call.end();
  else call.emit('error', toGrpcError(error));
}
