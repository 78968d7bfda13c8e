/**
 * How the hub's coded errors travel over gRPC: the status and message of the OutriggerError,
 * plus its stable code and field in trailing metadata, so a program can react to the field
 * without parsing the message.
 */
import { wellFormed } from '../common/well-formed.js';
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

/**
 * The status details and trailers travel as HTTP/2 headers, which a client bounds (grpc-js: 8 KiB
 * of metadata) and whose values grpc-js takes only as printable ASCII: a field or message naming
 * a client's own key (`metadata.é`, a 70,000-character unknown key) is clipped, and the field is
 * percent-encoded as grpc-message is (`readHeaderText` reads it back).
 */
export const MAX_HEADER_TEXT_BYTES = { details: 1024, field: 256 } as const;

export function toGrpcError(err: OutriggerError): GrpcStatusError {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_KEY, err.code);
  if (err.field !== undefined) metadata.set(ERROR_FIELD_KEY, headerText(clip(err.field, MAX_HEADER_TEXT_BYTES.field)));
  return { code: err.grpcStatus, details: wellFormed(clip(err.message, MAX_HEADER_TEXT_BYTES.details)), metadata };
}

/** At most `maxBytes` of UTF-8, cut at a character and marked with "…" when cut. */
function clip(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    bytes += Buffer.byteLength(ch);
    if (bytes > maxBytes - 3) break;
    out += ch;
  }
  return `${out}…`;
}

/** Printable ASCII but "%" as it is; any other UTF-8 byte as %XX. */
function headerText(text: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(text)) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A trailer written by toGrpcError, decoded. */
export function readHeaderText(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
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
