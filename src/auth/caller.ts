/**
 * One call's identity, bound to where it came in: every check a surface makes goes through
 * `require` (which refuses with `permission_denied` and audits the refusal), and a write ends
 * with `done`, which audits its outcome with the scope that allowed it.
 */
import { asOutriggerError } from '../common/errors.js';
import { grantingScope, permissionDenied, readFilter, type ReadFilter } from './access-check.js';
import type { AuditLog, CallSite } from './audit-log.js';
import { listScopes, type Identity } from './identity.js';
import type { Action } from './roles.js';
import { describeResource, type Resource } from './scope.js';

const WRITES: ReadonlySet<Action> = new Set(['namespace:write', 'service:write', 'instance:write', 'token:admin']);

export type RefusalCounter = (api: string, code: 'unauthenticated' | 'permission_denied') => void;

export class Caller {
  private granted: { action: Action; resource: string; scope: string } | undefined;
  private readFilterMemo: ReadFilter | undefined | null = null;

  constructor(
    readonly identity: Identity,
    readonly site: CallSite,
    private readonly audit: AuditLog,
    private readonly countRefusal: RefusalCounter,
  ) {}

  /** Throws `permission_denied` unless the identity may take the action on the resource. */
  require(action: Action, resource: Resource): void {
    const scope = grantingScope(this.identity, action, resource);
    if (scope === undefined) {
      const err = permissionDenied(this.identity, action, resource);
      this.audit.record({
        site: this.site,
        identity: this.identity,
        action,
        resource: describeResource(resource),
        scope: listScopes(action === 'service:read' || action === 'namespace:read' ? this.identity.reads : this.identity.scopes),
        result: 'permission_denied',
      });
      this.countRefusal(this.site.api, 'permission_denied');
      throw err;
    }
    if (WRITES.has(action)) this.granted = { action, resource: describeResource(resource), scope: scope === 'admin' ? 'admin' : scope.text };
  }

  /** What this caller may read; undefined when everything. */
  get reads(): ReadFilter | undefined {
    if (this.readFilterMemo === null) this.readFilterMemo = readFilter(this.identity);
    return this.readFilterMemo;
  }

  /**
   * Audits the outcome of a write: `ok` or the error it ended with. `write` says the call was
   * one, so a write refused before any check (its input did not parse) is audited too; refusals
   * by `require` were audited there. A `routine` write (a heartbeat that renews a lease) is
   * audited only when it fails: one line per renewal would bury the writes that matter.
   */
  done(error?: unknown, write = false, routine = false): void {
    const g = this.granted;
    this.granted = undefined;
    if (routine && error === undefined) return;
    const code = error === undefined ? 'ok' : asOutriggerError(error).code;
    if (g === undefined) {
      if (!write || code === 'permission_denied') return;
      this.audit.record({ site: this.site, identity: this.identity, result: code });
      return;
    }
    this.audit.record({ site: this.site, identity: this.identity, action: g.action, resource: g.resource, scope: g.scope, result: code });
  }
}
