/**
 * Errors in AWS's JSON 1.1 shape (`{"__type": ..., "message": ...}`): the SDK picks the
 * exception class by `__type`. Registry and access errors (OutriggerErrors) are translated here,
 * in one place, so every operation answers the same way.
 */
import { OutriggerError, asOutriggerError, type ErrorCode } from '../common/errors.js';

/** The `__type`s this API answers with, and their HTTP statuses (Cloud Map never uses 404). */
export const CLOUDMAP_ERRORS = {
  InvalidInput: 400,
  NamespaceNotFound: 400,
  ServiceNotFound: 400,
  InstanceNotFound: 400,
  OperationNotFound: 400,
  ResourceNotFoundException: 400,
  CustomHealthNotFound: 400,
  NamespaceAlreadyExists: 400,
  ServiceAlreadyExists: 400,
  DuplicateRequest: 400,
  ResourceInUse: 400,
  ResourceLimitExceeded: 400,
  TooManyTagsException: 400,
  RequestLimitExceeded: 400,
  UnknownOperationException: 400,
  SerializationException: 400,
  AccessDeniedException: 403,
  MissingAuthenticationTokenException: 403,
  IncompleteSignatureException: 403,
  InvalidSignatureException: 403,
  UnrecognizedClientException: 403,
  InternalFailure: 500,
  ServiceUnavailable: 503,
} as const;

export type CloudMapErrorType = keyof typeof CLOUDMAP_ERRORS;

/** Carries the Outrigger code too, so the audit line and the metrics say what they say for every API. */
export class CloudMapError extends OutriggerError {
  constructor(
    readonly type: CloudMapErrorType,
    message: string,
    code: ErrorCode = 'invalid_argument',
    /** Extra members of the error body (NamespaceAlreadyExists names the namespace's id). */
    readonly extra: Readonly<Record<string, string>> = {},
  ) {
    super(code, message);
  }

  get status(): number {
    return CLOUDMAP_ERRORS[this.type];
  }
}

export const invalidInput = (message: string): CloudMapError => new CloudMapError('InvalidInput', message);
export const namespaceNotFound = (id: string): CloudMapError => new CloudMapError('NamespaceNotFound', `namespace ${id} not found`, 'not_found');
export const serviceNotFound = (id: string): CloudMapError => new CloudMapError('ServiceNotFound', `service ${id} not found`, 'not_found');
export const instanceNotFound = (id: string, serviceId: string): CloudMapError => new CloudMapError('InstanceNotFound', `instance ${id} not found in service ${serviceId}`, 'not_found');

/** A Signature V4 refusal; `unauthenticated` for the audit log and metrics. */
export const signatureRefusal = (type: Extract<CloudMapErrorType, 'MissingAuthenticationTokenException' | 'IncompleteSignatureException' | 'InvalidSignatureException' | 'UnrecognizedClientException'>, message: string): CloudMapError =>
  new CloudMapError(type, message, 'unauthenticated');

/** What the client is told about any error: a CloudMapError as it is, an OutriggerError by its code. */
export function toCloudMapError(err: unknown): CloudMapError {
  if (err instanceof CloudMapError) return err;
  const e = asOutriggerError(err);
  switch (e.code) {
    case 'invalid_argument':
    case 'malformed_json':
    case 'payload_too_large':
    case 'unsupported_media_type':
      return new CloudMapError('InvalidInput', e.message, e.code);
    case 'permission_denied':
      return new CloudMapError('AccessDeniedException', e.message, e.code);
    // Without a signature verifier (no access keys) or with auth off, the authenticator speaks for itself.
    case 'unauthenticated':
      return new CloudMapError('UnrecognizedClientException', e.message, e.code);
    case 'failed_precondition':
      return new CloudMapError('ResourceInUse', e.message, e.code);
    case 'already_exists':
      return new CloudMapError('DuplicateRequest', e.message, e.code);
    case 'rate_limited':
      return new CloudMapError('RequestLimitExceeded', e.message, e.code);
    case 'resource_exhausted':
      return new CloudMapError('ResourceLimitExceeded', e.message, e.code);
    case 'not_found':
      return new CloudMapError('ResourceNotFoundException', e.message, e.code);
    // AWS's common error for a temporary failure: the SDK retries it as transient.
    case 'store_unavailable':
      return new CloudMapError('ServiceUnavailable', e.message, e.code);
    default:
      return new CloudMapError('InternalFailure', 'internal error; the hub log has the details', e.code);
  }
}
