/**
 * The audit trail: one structured log line (`"msg":"audit"`) per write and per refusal, saying
 * who (the identity's name, never a secret), what (the action and the API operation), where
 * (the resource, and the scope that allowed it) and the result.
 */
import type { Logger } from '../common/logger.js';
import type { Identity } from './identity.js';
import type { Action } from './roles.js';

/** Where a call came in: the API, its operation (a route or RPC) and the peer's address. */
export interface CallSite {
  readonly api: string;
  readonly op: string;
  readonly peer: string;
}

export interface AuditEntry {
  readonly site: CallSite;
  readonly identity?: Identity;
  readonly action?: Action;
  readonly resource?: string;
  /** The scope that granted the action (`admin` for admins), or the identity's scopes on a refusal. */
  readonly scope?: string;
  /** `ok`, an error code (`permission_denied`, `unauthenticated`, `invalid_argument`, ...). */
  readonly result: string;
  readonly reason?: string;
}

export class AuditLog {
  constructor(private readonly logger: Logger) {}

  record(e: AuditEntry): void {
    this.logger.info('audit', {
      api: e.site.api,
      op: e.site.op,
      peer: e.site.peer,
      who: e.identity?.name ?? 'unknown',
      ...(e.identity !== undefined ? { via: e.identity.kind, role: e.identity.role } : {}),
      ...(e.action !== undefined ? { action: e.action } : {}),
      ...(e.resource !== undefined ? { resource: e.resource } : {}),
      ...(e.scope !== undefined ? { scope: e.scope } : {}),
      result: e.result,
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
    });
  }
}
