/**
 * Who a call is made by, whatever proved it: a static token, a JWT, a Kubernetes ServiceAccount
 * token, a client certificate, or nobody (the anonymous policy). The hub's checks look only at
 * this record, so every API and every credential kind obey the same rules.
 */
import type { Role } from './roles.js';
import { ALL, type Scope } from './scope.js';

export const IDENTITY_KINDS = ['token', 'jwt', 'kubernetes', 'certificate', 'aws-sigv4', 'anonymous', 'open'] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

export interface Identity {
  /** Stable and safe to log: a token's id, a JWT's subject, `system:serviceaccount:ns:sa`, a SPIFFE id, an AWS access key id. Never a secret. */
  readonly name: string;
  readonly kind: IdentityKind;
  readonly role: Role;
  /** Where the role applies. For `service`, the services it may write. */
  readonly scopes: readonly Scope[];
  /** For `service`: what it may read (the services it calls). Other roles read within `scopes`. */
  readonly reads: readonly Scope[];
  /** When the credential stops being valid (ms since the epoch), if it does. */
  readonly expiresAt?: number;
  /** A static token's SHA-256: a stream opened with it ends when the secret behind its id changes. Never shown. */
  readonly credential?: string;
}

/** Everyone, when auth is turned off (`auth.enabled: false`): an admin with no name. */
export const OPEN_IDENTITY: Identity = { name: 'anyone (auth disabled)', kind: 'open', role: 'admin', scopes: [ALL], reads: [ALL] };

/** How an identity is shown in messages and audit lines: `token ops-1 (operator; scopes shop.local, team-*)`. */
export function describeIdentity(identity: Identity): string {
  const scopes = identity.role === 'admin' ? '' : `; scopes ${listScopes(identity.scopes)}`;
  const reads = identity.role === 'service' ? `; reads ${listScopes(identity.reads)}` : '';
  return `${identity.kind} ${identity.name} (${identity.role}${scopes}${reads})`;
}

/** Whether two identities grant the same: same credential, role, scopes, reads and expiry. */
export function sameGrant(a: Identity, b: Identity): boolean {
  return (
    a.credential === b.credential &&
    a.role === b.role &&
    listScopes(a.scopes) === listScopes(b.scopes) &&
    listScopes(a.reads) === listScopes(b.reads) &&
    a.expiresAt === b.expiresAt
  );
}

export function listScopes(scopes: readonly Scope[]): string {
  return scopes.length === 0 ? 'none' : scopes.map((s) => s.text).join(', ');
}
