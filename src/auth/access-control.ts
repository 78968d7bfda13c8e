/**
 * What every hub surface (REST, the gRPC registration API, Session, Watch, xDS, and each dialect
 * to come) calls: `identify` a call's credentials, then check each action through the Caller.
 * With auth disabled every caller is the open identity, an admin, and writes are still audited.
 */
import { asOutriggerError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { AuditLog, type CallSite } from './audit-log.js';
import type { Authenticator, Credentials } from './authenticator.js';
import { Caller, type RefusalCounter } from './caller.js';
import { OPEN_IDENTITY, type Identity } from './identity.js';

export interface AccessControlOptions {
  /** Undefined: auth is off (`auth.enabled: false`). */
  authenticator?: Authenticator;
  logger?: Logger;
  countRefusal?: RefusalCounter;
}

export class AccessControl {
  private readonly audit: AuditLog;
  private readonly countRefusal: RefusalCounter;

  constructor(private readonly options: AccessControlOptions) {
    this.audit = new AuditLog(options.logger ?? silentLogger);
    this.countRefusal = options.countRefusal ?? (() => undefined);
  }

  /** Auth off: everyone is an admin. Only for `auth.enabled: false` and tests that are not about auth. */
  static disabled(logger?: Logger): AccessControl {
    return new AccessControl(logger !== undefined ? { logger } : {});
  }

  /**
   * The call's identity; throws `unauthenticated` (audited and counted) when it has none the hub
   * accepts. `credentials` reads them off the call (and throws for a malformed header); with auth
   * off they are not read at all.
   */
  async identify(credentials: () => Credentials, site: CallSite): Promise<Identity> {
    const authenticator = this.options.authenticator;
    if (authenticator === undefined) return OPEN_IDENTITY;
    try {
      return await authenticator.authenticate(credentials());
    } catch (err) {
      const e = asOutriggerError(err);
      this.audit.record({ site, result: e.code, reason: e.message });
      if (e.code === 'unauthenticated') this.countRefusal(site.api, 'unauthenticated');
      throw e;
    }
  }

  /**
   * The identity of a call that presents nothing, found without an audit line: undefined when
   * such calls are refused. For DNS, whose every query is anonymous and whose UDP source can be
   * forged, so one audit line per refused packet would let anyone flood the log.
   */
  get anonymous(): Identity | undefined {
    const authenticator = this.options.authenticator;
    return authenticator === undefined ? OPEN_IDENTITY : authenticator.anonymous;
  }

  caller(identity: Identity, site: CallSite): Caller {
    return new Caller(identity, site, this.audit, this.countRefusal);
  }
}
