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

/**
 * Who a connection proved to be, and with what: a keep-alive connection sends the same
 * credential on every request, so its identity is looked up once while it stays valid.
 */
export interface IdentityMemo {
  /** What the identity is remembered on (a connection); forgotten with it. */
  readonly key: object;
  /** The credential as sent (the authorization header); another one is identified afresh. */
  readonly proof: string | undefined;
}

interface Remembered {
  readonly proof: string | undefined;
  readonly identity: Identity;
  readonly generation: number;
}

export class AccessControl {
  private readonly audit: AuditLog;
  private readonly countRefusal: RefusalCounter;
  private readonly memos = new WeakMap<object, Remembered>();

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
  async identify(credentials: () => Credentials, site: CallSite, memo?: IdentityMemo): Promise<Identity> {
    const authenticator = this.options.authenticator;
    if (authenticator === undefined) return OPEN_IDENTITY;
    try {
      const generation = authenticator.generation;
      const identity = await authenticator.authenticate(credentials());
      // Only static tokens: other kinds have caches of their own with their own rules (TokenReview's cache_ttl).
      if (memo !== undefined && identity.kind === 'token') this.memos.set(memo.key, { proof: memo.proof, identity, generation });
      return identity;
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

  /**
   * The identity remembered on `key` for this same credential, while the static tokens are
   * unchanged since (no reload, revocation or new token) and it has not expired; undefined
   * otherwise, and the call is identified afresh.
   */
  remembered(key: object, proof: string | undefined): Identity | undefined {
    const authenticator = this.options.authenticator;
    if (authenticator === undefined) return OPEN_IDENTITY;
    const m = this.memos.get(key);
    if (m === undefined || m.proof !== proof || m.generation !== authenticator.generation || !authenticator.unexpired(m.identity)) return undefined;
    return m.identity;
  }

  caller(identity: Identity, site: CallSite): Caller {
    return new Caller(identity, site, this.audit, this.countRefusal);
  }
}
