/**
 * The one authorization rule: an identity may take an action on a resource when its role grants
 * the action and one of the scopes the action is checked against covers the resource. Default
 * deny: anything else is `permission_denied`, naming the action, the resource and the identity.
 */
import { OutriggerError } from '../common/errors.js';
import { describeIdentity, type Identity } from './identity.js';
import { ROLE_ACTIONS, type Action } from './roles.js';
import { covers, describeResource, touches, type Resource, type Scope } from './scope.js';

/** The scope that grants the action on the resource, or undefined when none does. */
export function grantingScope(identity: Identity, action: Action, resource: Resource): Scope | 'admin' | undefined {
  if (identity.role === 'admin') return 'admin';
  const kind = ROLE_ACTIONS[identity.role][action];
  if (kind === undefined) return undefined;
  // A namespace is readable by any scope inside it: its services' names carry it anyway.
  const ns = resource.namespace;
  if (action === 'namespace:read' && ns !== undefined && resource.service === undefined) return identity[kind].find((s) => touches(s, ns));
  return identity[kind].find((s) => covers(s, resource));
}

export function allows(identity: Identity, action: Action, resource: Resource): boolean {
  return grantingScope(identity, action, resource) !== undefined;
}

export function permissionDenied(identity: Identity, action: Action, resource: Resource): OutriggerError {
  return new OutriggerError('permission_denied', `${action} on ${describeResource(resource)} is not allowed for ${describeIdentity(identity)}`);
}

/**
 * What of the registry an identity may read, for filtering lists, Watch and xDS: undefined when
 * it may read everything (the common case, kept free of per-item checks), else a predicate.
 */
export interface ReadFilter {
  namespace(name: string): boolean;
  service(namespace: string, service: string): boolean;
}

export function readFilter(identity: Identity): ReadFilter | undefined {
  if (allows(identity, 'service:read', {})) return undefined;
  const kind = identity.role === 'admin' ? undefined : ROLE_ACTIONS[identity.role]['service:read'];
  const scopes = kind === undefined ? [] : identity[kind];
  return {
    namespace: (name) => scopes.some((s) => touches(s, name)),
    service: (namespace, service) => scopes.some((s) => covers(s, { namespace, service })),
  };
}
