/**
 * Turns what a call presents into an Identity, or refuses it with `unauthenticated` and the
 * reason. In order:
 * 1. a bearer token: a static token (by its SHA-256), else a JWT verified against the configured
 *    keys, else a Kubernetes ServiceAccount token checked with a TokenReview. A token that is
 *    presented must be valid: a bad one is refused even when a certificate would do;
 * 2. a client certificate the TLS handshake verified: its SPIFFE id, else its CN;
 * 3. nothing: the anonymous policy when it is on, else refused.
 * A request signed with AWS Signature V4 (the Cloud Map API) is proved by its signature alone:
 * it never falls back to a certificate or the anonymous policy.
 */
import type { PeerCertificate } from 'node:tls';
import type { Clock } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import type { Bindings } from './bindings.js';
import type { Identity } from './identity.js';
import type { SignatureVerifier, SignedRequest } from './signed-request.js';
import { ALL } from './scope.js';
import type { StaticTokens } from './static-tokens.js';
import type { TokenRecord } from './token-file.js';
import { spiffeWorkload } from '../model/workload-names.js';

export interface Credentials {
  /** The bearer token, when the call carried `authorization: Bearer <token>`. */
  readonly token?: string;
  /** The client certificate, when the TLS handshake verified one against the client CA. */
  readonly certificate?: PeerCertificate;
  /** A request that must carry an AWS Signature V4 (the Cloud Map API), signed or not. */
  readonly signed?: SignedRequest;
}

/** A kind of bearer token other than the static ones: JWTs, Kubernetes ServiceAccount tokens. */
export interface BearerVerifier {
  /** Whether this verifier is the one for a JWT with these (unverified) claims. */
  claims(payload: Record<string, unknown>): boolean;
  /** The identity the token proves; throws `unauthenticated` with the reason otherwise. */
  verify(token: string, payload: Record<string, unknown>): Promise<Identity>;
}

export interface AuthenticatorOptions {
  clock: Clock;
  tokens?: StaticTokens;
  /** Tried in order; the first whose `claims` accepts a JWT verifies it. */
  verifiers?: readonly BearerVerifier[];
  bindings: Bindings;
  /** Trust domain of SPIFFE ids in client certificates. */
  trustDomain: string;
  /** The identity of callers that present nothing; undefined refuses them. */
  anonymous?: Identity;
  /** Checks AWS Signature V4 against the configured access keys; undefined refuses every signed request. */
  signatures?: SignatureVerifier;
}

export const unauthenticated = (why: string): OutriggerError => new OutriggerError('unauthenticated', why);

const JWT_SHAPE = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;

function decodedPart(token: string, part: 1 | 2): Record<string, unknown> | undefined {
  const m = JWT_SHAPE.exec(token);
  if (m === null) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(m[part]!, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A JWT's claims without verifying anything: only to pick the verifier that will. */
export function unverifiedClaims(token: string): Record<string, unknown> | undefined {
  return decodedPart(token, 2);
}

/** A JWT's header without verifying anything: only ever used to refuse early. */
export function unverifiedHeader(token: string): Record<string, unknown> | undefined {
  return decodedPart(token, 1);
}

/** The identity a static token proves. */
export function tokenIdentity(record: TokenRecord): Identity {
  return {
    name: record.id,
    kind: 'token',
    role: record.role,
    scopes: record.scopes,
    reads: record.reads ?? (record.role === 'service' ? [ALL] : record.scopes),
    ...(record.expiresAt !== undefined ? { expiresAt: record.expiresAt } : {}),
    credential: record.sha256,
  };
}

export class Authenticator {
  constructor(private readonly options: AuthenticatorOptions) {}

  get anonymous(): Identity | undefined {
    return this.options.anonymous;
  }

  /** Changes whenever the static tokens do (reload, a token added or revoked). */
  get generation(): number {
    return this.options.tokens?.generation ?? 0;
  }

  /** Whether an identity found earlier has not expired yet, on the hub's Clock. */
  unexpired(identity: Identity): boolean {
    return identity.expiresAt === undefined || identity.expiresAt > this.options.clock.now();
  }

  async authenticate(credentials: Credentials): Promise<Identity> {
    if (credentials.signed !== undefined) {
      if (this.options.signatures === undefined) throw unauthenticated('AWS Signature V4 is not accepted: the hub has no access keys (cloudmap.access_keys)');
      return this.options.signatures.verify(credentials.signed);
    }
    if (credentials.token !== undefined) return this.fromToken(credentials.token);
    if (credentials.certificate !== undefined) return this.fromCertificate(credentials.certificate);
    if (this.options.anonymous !== undefined) return this.options.anonymous;
    throw unauthenticated('no credentials: send "authorization: Bearer <token>" (REST header or gRPC metadata) or a client certificate');
  }

  private async fromToken(token: string): Promise<Identity> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw unauthenticated('the bearer token is empty or too long');
    const record = this.options.tokens?.lookup(token);
    if (record !== undefined) {
      if (record.expiresAt !== undefined && record.expiresAt <= this.options.clock.now()) {
        throw unauthenticated(`token ${record.id} expired at ${new Date(record.expiresAt).toISOString()}`);
      }
      return tokenIdentity(record);
    }
    const claims = unverifiedClaims(token);
    if (claims !== undefined) {
      const verifier = this.options.verifiers?.find((v) => v.claims(claims));
      if (verifier !== undefined) return verifier.verify(token, claims);
      const iss = JSON.stringify(claims.iss) ?? 'none';
      throw unauthenticated(`the bearer token is a JWT of issuer ${iss.length > 80 ? `${iss.slice(0, 77)}...` : iss}, which no configured verifier accepts (auth.jwt.issuer; auth.kubernetes for ServiceAccount tokens)`);
    }
    throw unauthenticated('the bearer token is not one the hub knows (unknown or revoked static token, or a JWT no configured issuer accepts)');
  }

  private fromCertificate(cert: PeerCertificate): Identity {
    const { bindings, trustDomain } = this.options;
    const expiresAt = Date.parse(cert.valid_to);
    const expiry = Number.isNaN(expiresAt) ? undefined : expiresAt;
    for (const uri of uriSans(cert)) {
      const workload = spiffeWorkload(uri, trustDomain);
      if (workload !== undefined) return bindings.workload(uri, 'spiffe', 'certificate', workload, expiry);
      const bound = bindings.bound(uri, 'spiffe', 'certificate', expiry);
      if (bound !== undefined) return bound;
    }
    const cn = typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined;
    if (cn !== undefined) {
      const bound = bindings.bound(`cn:${cn}`, 'cn', 'certificate', expiry);
      if (bound !== undefined) return bound;
    }
    const who = uriSans(cert)[0] ?? (cn !== undefined ? `cn:${cn}` : 'a certificate without URI SAN or CN');
    throw unauthenticated(`the client certificate (${who}) is trusted but bound to no role: give it a SPIFFE id in trust domain ${trustDomain}, or add it to auth.bindings`);
  }
}

/** The URI SANs of a certificate (`subjectaltname` is "DNS:a, URI:spiffe://..."). */
export function uriSans(cert: PeerCertificate): string[] {
  const san = cert.subjectaltname ?? '';
  return san
    .split(/,\s*/)
    .filter((part) => part.startsWith('URI:'))
    .map((part) => part.slice(4));
}
