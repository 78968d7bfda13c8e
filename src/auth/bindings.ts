/**
 * Roles for identities that carry none of their own: Kubernetes ServiceAccounts (from a
 * TokenReview) and client certificates (a SPIFFE id, else the CN).
 *
 * A workload, `system:serviceaccount:<ns>:<sa>` or `spiffe://<trust domain>/ns/<ns>/sa/<sa>`, is
 * by default the `service` role for the service named like its ServiceAccount in the registry
 * namespace `<ns>.<namespace suffix>` (Consul on Kubernetes ties service and ServiceAccount names
 * the same way), reading everything. `auth.bindings` gives any identity, or a prefix of names
 * (`system:serviceaccount:ops:*`), another role and scopes; the first binding that matches wins.
 */
import { z } from 'zod';
import type { Identity, IdentityKind } from './identity.js';
import { ROLES, type Role } from './roles.js';
import { ALL, parseScope, scopeSchema, type Scope } from './scope.js';

export interface Binding {
  /** An identity name, or a prefix ending in `*`. */
  readonly identity: string;
  readonly role: Role;
  readonly scopes: readonly Scope[];
  readonly reads?: readonly Scope[];
}

export const bindingSchema = z
  .strictObject({
    identity: z
      .string({ error: 'must be an identity: system:serviceaccount:<ns>:<sa>, spiffe://<trust domain>/ns/<ns>/sa/<sa> or cn:<common name>, optionally ending in *' })
      .min(1, { error: 'must not be empty' })
      .max(512, { error: 'must be at most 512 characters' }),
    role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
    scopes: z.array(scopeSchema).default([]),
    reads: z.array(scopeSchema).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.role !== 'admin' && b.scopes.length === 0) ctx.addIssue({ code: 'custom', path: ['scopes'], message: `must name at least one scope for role ${b.role}` });
    if (b.reads !== undefined && b.role !== 'service') ctx.addIssue({ code: 'custom', path: ['reads'], message: 'is for the service role only' });
  });

/** A Kubernetes namespace and ServiceAccount, from a TokenReview or a SPIFFE id. */
export interface Workload {
  readonly namespace: string;
  readonly serviceAccount: string;
}

const SPIFFE_WORKLOAD = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** The namespace and ServiceAccount of a SPIFFE id in the trust domain, if it is one. */
export function spiffeWorkload(id: string, trustDomain: string): Workload | undefined {
  const m = SPIFFE_WORKLOAD.exec(id);
  if (m === null || m[1] !== trustDomain) return undefined;
  return { namespace: m[2]!, serviceAccount: m[3]! };
}

export class Bindings {
  constructor(
    private readonly bindings: readonly Binding[],
    /** Registry namespace of Kubernetes namespace ns: `ns.<suffix>` (the hub's kubernetes.namespace_suffix). */
    private readonly namespaceSuffix: string,
  ) {}

  find(name: string): Binding | undefined {
    return this.bindings.find((b) => (b.identity.endsWith('*') ? name.startsWith(b.identity.slice(0, -1)) : b.identity === name));
  }

  /** The identity of a bound name, if a binding names it. */
  bound(name: string, kind: IdentityKind, expiresAt?: number): Identity | undefined {
    const b = this.find(name);
    if (b === undefined) return undefined;
    return { name, kind, role: b.role, scopes: b.scopes, reads: b.reads ?? (b.role === 'service' ? [ALL] : b.scopes), ...(expiresAt !== undefined ? { expiresAt } : {}) };
  }

  /** A workload's identity: its binding, else the service role for its own ServiceAccount's service. */
  workload(name: string, kind: IdentityKind, w: Workload, expiresAt?: number): Identity {
    const bound = this.bound(name, kind, expiresAt);
    if (bound !== undefined) return bound;
    const own = parseScope(`${w.namespace}.${this.namespaceSuffix}/${w.serviceAccount}`);
    return { name, kind, role: 'service', scopes: own === undefined ? [] : [own], reads: [ALL], ...(expiresAt !== undefined ? { expiresAt } : {}) };
  }
}
