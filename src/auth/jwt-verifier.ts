/**
 * Bearer JWTs (the AI-CORE seed's), verified with jose against the keys `auth.jwt` configures.
 * The verifier claims the JWTs whose `iss` is the configured issuer; it checks the signature,
 * `exp` (required), `nbf`, `iss` and, when configured, `aud`, with `auth.jwt.clock_tolerance` on
 * the times, then reads the identity from the claims (jwt-identity.ts). A verified token is
 * cached until it expires, so a busy caller costs one signature check. The key files are polled
 * on the Clock: a rotated key takes effect at the next poll, and a file that stops loading keeps
 * the keys last read and logs why.
 */
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { unauthenticated, type BearerVerifier } from './authenticator.js';
import { fileStamp } from './file-stamp.js';
import type { Identity } from './identity.js';
import { jwtIdentity, type JwtClaimRules } from './jwt-identity.js';
import { JWT_ALGORITHMS, JwtKeys, type JwtAlgorithm, type JwtKeyFiles } from './jwt-keys.js';
import { TokenCache } from './token-cache.js';

export interface JwtVerifierOptions extends JwtClaimRules {
  /** The required `iss`; JWTs of other issuers are left to the other verifiers. */
  readonly issuer: string;
  /** The required `aud`; empty: not checked. */
  readonly audience: string;
  readonly keyFiles: JwtKeyFiles;
  /** Leeway on `exp` and `nbf` for clock skew. */
  readonly clockToleranceMs: number;
  /** How often the key files are checked for changes. */
  readonly reloadIntervalMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

const refused = (why: string) => unauthenticated(`JWT refused: ${why}`);
const iso = (seconds: unknown): string => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : String(seconds));

/** jose's refusal, said as the hub says it: which check failed and why. */
function reason(err: unknown, options: JwtVerifierOptions): Error {
  if (err instanceof errors.JWTExpired) return refused(`token expired at ${iso(err.payload.exp)}`);
  if (err instanceof errors.JWTClaimValidationFailed) {
    const claims = err.payload;
    if (err.reason === 'missing' && err.claim === 'exp') return refused('the token has no "exp" claim; the hub accepts only JWTs that expire');
    if (err.reason === 'missing') return refused(`the token has no "${err.claim}" claim`);
    if (err.claim === 'nbf') return refused(`token not valid before ${iso(claims.nbf)}`);
    if (err.claim === 'iss') return refused(`iss ${JSON.stringify(claims.iss)} is not the configured issuer ${JSON.stringify(options.issuer)}`);
    if (err.claim === 'aud') return refused(`aud ${JSON.stringify(claims.aud)} does not include the configured audience ${JSON.stringify(options.audience)}`);
    return refused(`claim "${err.claim}": ${err.message}`);
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return refused(`malformed JWT: ${err.message}`);
  if (err instanceof errors.JOSEError || err instanceof TypeError) return refused(`signature: ${err.message}`);
  return err instanceof Error ? err : new Error(String(err));
}

/** One stamp for all the key files: it changes when any of them does. */
function stampOf(files: JwtKeyFiles): string {
  return [files.hs256SecretFile, ...files.publicKeyFiles, files.jwksFile].map((p) => (p === '' ? '' : (fileStamp(p) ?? 'missing'))).join('|');
}

export class JwtVerifier implements BearerVerifier {
  private readonly verified: TokenCache<Identity>;
  private stamp: string;
  private timer: TimerHandle | undefined;
  private reloading = false;
  /** Bumped by each key reload: a verification that straddles one is not cached. */
  private generation = 0;

  private constructor(
    private readonly options: JwtVerifierOptions,
    private keys: JwtKeys,
    stamp: string,
  ) {
    this.verified = new TokenCache(options.clock);
    this.stamp = stamp;
  }

  /** Reads the key files; throws `config_invalid` naming the first that cannot be used. */
  static async create(options: JwtVerifierOptions): Promise<JwtVerifier> {
    // Stamped before reading, so a change made while reading is seen at the first poll.
    const stamp = stampOf(options.keyFiles);
    return new JwtVerifier(options, await JwtKeys.load(options.keyFiles), stamp);
  }

  claims(payload: Record<string, unknown>): boolean {
    return payload.iss === this.options.issuer;
  }

  async verify(token: string): Promise<Identity> {
    const key = TokenCache.key(token);
    const cached = this.verified.get(key);
    if (cached !== undefined) return cached;
    const generation = this.generation;
    const payload = await this.check(token);
    const identity = jwtIdentity(payload, this.options);
    if (identity.expiresAt !== undefined && generation === this.generation) this.verified.set(key, identity, identity.expiresAt);
    return identity;
  }

  /** Starts polling the key files for changes. */
  watch(): void {
    if (this.timer !== undefined) return;
    this.timer = this.options.clock.setInterval(() => void this.reloadIfChanged(), this.options.reloadIntervalMs).unref();
  }

  close(): void {
    this.options.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reloads the keys when a key file changed since the last read; resolves with whether it did. */
  async reloadIfChanged(): Promise<boolean> {
    const now = stampOf(this.options.keyFiles);
    if (now === this.stamp || this.reloading) return false;
    this.reloading = true;
    try {
      this.keys = await JwtKeys.load(this.options.keyFiles);
      this.stamp = now;
      // A key taken out must stop accepting the tokens it signed.
      this.generation++;
      this.verified.clear();
      this.options.logger.info('auth: JWT keys reloaded');
      return true;
    } catch (err) {
      this.stamp = now;
      this.options.logger.error('auth: a JWT key file does not load; keeping the keys last read', { error: (err as Error).message });
      return false;
    } finally {
      this.reloading = false;
    }
  }

  /** The verified claims; tries each key that fits the header until one verifies the signature. */
  private async check(token: string): Promise<JWTPayload> {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw refused('malformed JWT: its header is not base64url JSON');
    }
    const alg = header.alg;
    if (!(JWT_ALGORITHMS as readonly unknown[]).includes(alg)) throw refused(`signature: alg ${JSON.stringify(alg)} is not accepted; the hub accepts ${JWT_ALGORITHMS.join(', ')}`);
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    const keys = await this.keys.candidates(alg as JwtAlgorithm, kid);
    if (keys.length === 0) throw refused(`signature: no configured key fits alg ${alg}${kid !== undefined ? ` and kid ${JSON.stringify(kid)}` : ''}`);
    const { clock, issuer, audience, clockToleranceMs } = this.options;
    const verifyOptions: JWTVerifyOptions = {
      algorithms: [alg as string],
      issuer,
      ...(audience !== '' ? { audience } : {}),
      requiredClaims: ['exp'],
      clockTolerance: Math.floor(clockToleranceMs / 1000),
      currentDate: new Date(clock.now()),
    };
    for (const key of keys) {
      try {
        return (await jwtVerify(token, key, verifyOptions)).payload;
      } catch (err) {
        if (err instanceof errors.JWSSignatureVerificationFailed) continue;
        throw reason(err, this.options);
      }
    }
    throw refused(`signature does not verify with any configured ${alg} key`);
  }
}
