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
import { ALL, scopeSchema, type Scope } from './scope.js';
import { SERVICE_ACCOUNT_USER, SPIFFE_ID, type Workload } from '../model/workload-names.js';

/**
 * Where a bound name comes from. A binding applies to names of its own source only, so a
 * certificate's URI SAN `cn:x` can never pass for the CN binding `cn:x`.
 */
export type BindingSource = 'service-account' | 'spiffe' | 'cn';

export interface Binding {
  /** An identity name, or a prefix ending in `*`. */
  readonly identity: string;
  readonly source: BindingSource;
  readonly role: Role;
  readonly scopes: readonly Scope[];
  readonly reads?: readonly Scope[];
}

const IDENTITY_FORMS = 'system:serviceaccount:<namespace>:<name>, spiffe://<trust domain>/<path> or cn:<common name>, or a prefix of one ending in *';
const SOURCES: readonly (readonly [string, BindingSource])[] = [
  ['system:serviceaccount:', 'service-account'],
  ['spiffe://', 'spiffe'],
  ['cn:', 'cn'],
];
const CONTROL = /\p{Cc}/u;

/** The source of a binding's identity, or why it is none of the three forms. */
function bindingSource(identity: string): BindingSource | string {
  const source = SOURCES.find(([prefix]) => identity.startsWith(prefix))?.[1];
  if (source === undefined) return `must be ${IDENTITY_FORMS}`;
  if (CONTROL.test(identity)) return 'must not hold control characters';
  const star = identity.indexOf('*');
  if (star !== -1 && star !== identity.length - 1) return 'may hold * only at its end (a prefix)';
  if (star !== -1) return source;
  if (source === 'service-account' && !SERVICE_ACCOUNT_USER.test(identity)) return 'must be system:serviceaccount:<namespace>:<name> with a Kubernetes namespace and ServiceAccount name';
  if (source === 'spiffe' && !SPIFFE_ID.test(identity)) return 'must be a SPIFFE id: spiffe://<trust domain>/<path>, segments of letters, digits, ".", "-", "_"';
  if (source === 'cn' && identity.length === 3) return 'must name a common name after cn:';
  return source;
}

export const bindingSchema = z
  .strictObject({
    identity: z
      .string({ error: `must be an identity: ${IDENTITY_FORMS}` })
      .min(1, { error: 'must not be empty' })
      .max(512, { error: 'must be at most 512 characters' }),
    role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
    scopes: z.array(scopeSchema).default([]),
    reads: z.array(scopeSchema).optional(),
  })
  .superRefine((b, ctx) => {
    const source = bindingSource(b.identity);
    if (!SOURCES.some(([, s]) => s === source)) ctx.addIssue({ code: 'custom', path: ['identity'], message: source });
    if (b.role !== 'admin' && b.scopes.length === 0) ctx.addIssue({ code: 'custom', path: ['scopes'], message: `must name at least one scope for role ${b.role}` });
    if (b.reads !== undefined && b.role !== 'service') ctx.addIssue({ code: 'custom', path: ['reads'], message: 'is for the service role only' });
  })
  .transform((b): Binding => ({ ...b, source: bindingSource(b.identity) as BindingSource }));

export class Bindings {
  constructor(
    private readonly bindings: readonly Binding[],
    /** Registry namespace of Kubernetes namespace ns: `ns.<suffix>` (the hub's kubernetes.namespace_suffix). */
    private readonly namespaceSuffix: string,
  ) {}

  find(name: string, source: BindingSource): Binding | undefined {
    return this.bindings.find((b) => b.source === source && (b.identity.endsWith('*') ? name.startsWith(b.identity.slice(0, -1)) : b.identity === name));
  }

  /** The identity of a bound name, if a binding of its source names it. */
  bound(name: string, source: BindingSource, kind: IdentityKind, expiresAt?: number): Identity | undefined {
    const b = this.find(name, source);
    if (b === undefined) return undefined;
    return { name, kind, role: b.role, scopes: b.scopes, reads: b.reads ?? (b.role === 'service' ? [ALL] : b.scopes), ...(expiresAt !== undefined ? { expiresAt } : {}) };
  }

  /**
   * A workload's identity: its binding, else the service role for its own ServiceAccount's
   * service. The scope is built from the checked names, never parsed from them.
   */
  workload(name: string, source: BindingSource, kind: IdentityKind, w: Workload, expiresAt?: number): Identity {
    const bound = this.bound(name, source, kind, expiresAt);
    if (bound !== undefined) return bound;
    const namespace = `${w.namespace}.${this.namespaceSuffix}`;
    const own: Scope = { namespace: { exact: namespace }, service: { exact: w.serviceAccount }, text: `${namespace}/${w.serviceAccount}` };
    return { name, kind, role: 'service', scopes: [own], reads: [ALL], ...(expiresAt !== undefined ? { expiresAt } : {}) };
  }
}
