/**
 * How the hub's surfaces (REST, gRPC, Session, Watch) check registry operations against a
 * caller, so each operation is checked the same way whichever API it came through.
 */
import type { ReadFilter } from '../auth/access-check.js';
import type { Caller } from '../auth/caller.js';
import { listScopes, type Identity } from '../auth/identity.js';
import type { Action } from '../auth/roles.js';
import type { Instance } from '../registry/model.js';
import type { Registry, RegistrationCheck } from '../registry/registry.js';

/**
 * A registration needs `instance:write` on its service, and on the service of the instance it
 * would replace (an id cannot be taken over from another service). Registering a `static` or
 * `kubernetes` instance is managing the service, and needs `service:write`.
 */
export function registrationCheck(caller: Caller): RegistrationCheck {
  return (target, existing) => {
    caller.require('instance:write', target);
    if (existing !== undefined && (existing.namespace !== target.namespace || existing.service !== target.service)) {
      caller.require('instance:write', existing);
    }
    if (target.source !== 'self') caller.require('service:write', target);
  };
}

/** Checks `action` on the service of the instance with this id, when it exists (the registry reports a missing one). */
export function checkInstance(registry: Registry, caller: Caller, id: string, action: Action): Instance | undefined {
  const inst = registry.getInstance(id);
  if (inst !== undefined) caller.require(action, inst);
  return inst;
}

/**
 * A listing's filter: a namespace or service the caller names must be readable (else 403);
 * otherwise what it cannot read is left out. Undefined when nothing needs leaving out.
 */
export function readableOnly(caller: Caller, namespace: string | undefined, service: string | undefined): ReadFilter | undefined {
  if (namespace !== undefined && service !== undefined) caller.require('service:read', { namespace, service });
  else if (namespace !== undefined) caller.require('namespace:read', { namespace });
  return caller.reads;
}

/** The registry's `visible` predicate for a read filter. */
export function visibleServices(filter: ReadFilter | undefined): { visible?: (namespace: string, service: string) => boolean } {
  return filter === undefined ? {} : { visible: (ns, svc) => filter.service(ns, svc) };
}

/**
 * Everything a caller's read filter depends on (role, scopes, reads): callers with equal keys
 * see the same services, so answers encoded for one may be served to the other.
 */
export function readScopeKey(identity: Identity): string {
  return `${identity.role}\u0000${listScopes(identity.scopes)}\u0000${listScopes(identity.reads)}`;
}
