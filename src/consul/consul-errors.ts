/**
 * Consul answers errors with a status code and a plain-text body, and its clients show that
 * body as the error's message. Registry and access errors (OutriggerErrors) are translated here,
 * in one place, keeping their Outrigger code for the audit log and the metrics.
 */
import { OutriggerError, asOutriggerError, type ErrorCode } from '../common/errors.js';

export class ConsulError extends OutriggerError {
  constructor(
    readonly status: number,
    message: string,
    code: ErrorCode = 'invalid_argument',
  ) {
    super(code, message);
  }
}

export const badRequest = (message: string): ConsulError => new ConsulError(400, message);
export const notFoundError = (message: string): ConsulError => new ConsulError(404, message, 'not_found');

/** Consul's statuses: an unknown or refused token is 403 ("ACL not found", "Permission denied"). */
export function toConsulError(err: unknown): ConsulError {
  if (err instanceof ConsulError) return err;
  const e = asOutriggerError(err);
  switch (e.code) {
    case 'invalid_argument':
    case 'malformed_json':
    case 'unsupported_media_type':
      return new ConsulError(400, `Request decode failed: ${e.message}`, e.code);
    case 'payload_too_large':
      return new ConsulError(413, e.message, e.code);
    case 'unauthenticated':
      return new ConsulError(403, `ACL not found: ${e.message}`, e.code);
    case 'permission_denied':
      return new ConsulError(403, `Permission denied: ${e.message}`, e.code);
    case 'not_found':
      return new ConsulError(404, e.message, e.code);
    case 'failed_precondition':
    case 'already_exists':
      return new ConsulError(409, e.message, e.code);
    case 'rate_limited':
    case 'resource_exhausted':
      return new ConsulError(429, e.message, e.code);
    case 'unavailable':
    case 'store_unavailable':
      return new ConsulError(503, e.message, e.code);
    default:
      return new ConsulError(500, 'internal error; the hub log has the details', e.code);
  }
}
