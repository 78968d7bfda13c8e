/**
 * The identity a verified JWT proves: named by its `sub`, with the role and scopes its claims
 * carry (claim names from `auth.jwt`). A claim that is not what the hub allows refuses the token
 * with `unauthenticated`, naming the claim and what it allows: a JWT that says more than the hub
 * understands is a mistake at the issuer, never a reason to guess.
 */
import { unauthenticated } from './authenticator.js';
import type { Identity } from './identity.js';
import { ROLES, type Role } from './roles.js';
import { ALL, SCOPE_SYNTAX, parseScope, type Scope } from './scope.js';

export interface JwtClaimRules {
  /** Claim holding the role. */
  readonly roleClaim: string;
  /** Claim holding the scopes: a list, or a space-separated string. */
  readonly scopesClaim: string;
  /** Scopes of a JWT without the scopes claim. */
  readonly defaultScopes: readonly Scope[];
}

/** Claim holding what a `service` JWT may read (the services it calls); everything when absent. */
export const READS_CLAIM = 'reads';

const MAX_SUBJECT_LENGTH = 256;
const MAX_SCOPES = 256;

/** A claim's value as messages show it: JSON, clipped. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const refused = (why: string) => unauthenticated(`JWT refused: ${why}`);

function subject(payload: Record<string, unknown>): string {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH || /\p{Cc}/u.test(sub)) {
    throw refused(`claim "sub" must be a string of 1-${MAX_SUBJECT_LENGTH} characters without control characters (the hub names the caller by it)`);
  }
  return sub;
}

function role(payload: Record<string, unknown>, claim: string): Role {
  const value = payload[claim];
  if (typeof value === 'string' && (ROLES as readonly string[]).includes(value)) return value as Role;
  const got = value === undefined ? 'it is missing' : `got ${shown(value)}`;
  throw refused(`claim "${claim}" (auth.jwt.role_claim) must be one of ${ROLES.join(', ')}; ${got}`);
}

/** A list of scopes, or a space-separated string of them (OAuth's `scope` style); undefined when the claim is absent. */
function scopeList(payload: Record<string, unknown>, claim: string, key: string): Scope[] | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  const texts = typeof value === 'string' ? value.split(/\s+/).filter((s) => s !== '') : value;
  if (!Array.isArray(texts) || texts.some((s) => typeof s !== 'string')) throw refused(`claim "${claim}"${key} must be a list of scopes or a space-separated string; got ${shown(value)}`);
  if (texts.length > MAX_SCOPES) throw refused(`claim "${claim}"${key} must hold at most ${MAX_SCOPES} scopes; got ${texts.length}`);
  return (texts as string[]).map((text) => {
    const scope = parseScope(text);
    if (scope === undefined) throw refused(`claim "${claim}"${key}: ${shown(text)} is not a scope; a scope is ${SCOPE_SYNTAX}`);
    return scope;
  });
}

/** The identity of a JWT whose signature and time claims are verified. */
export function jwtIdentity(payload: Record<string, unknown>, rules: JwtClaimRules): Identity {
  const name = subject(payload);
  const r = role(payload, rules.roleClaim);
  const scopes = scopeList(payload, rules.scopesClaim, ' (auth.jwt.scopes_claim)') ?? rules.defaultScopes;
  // Other roles read within their scopes, as static tokens do; `reads` means nothing to them.
  const reads = r === 'service' ? (scopeList(payload, READS_CLAIM, '') ?? [ALL]) : scopes;
  const exp = payload.exp;
  return { name, kind: 'jwt', role: r, scopes, reads, ...(typeof exp === 'number' ? { expiresAt: exp * 1000 } : {}) };
}
