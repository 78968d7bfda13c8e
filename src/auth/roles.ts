/**
 * Roles and the actions they grant (the AI-CORE seed's admin / operator / viewer, plus the
 * `service` role a sidecar holds). Where a role applies is its identity's scopes.
 */
export const ROLES = ['admin', 'operator', 'viewer', 'service'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Everything the hub's APIs do, as one of these actions on a namespace or service:
 * - `namespace:read` / `service:read`: list and get, discover, Watch and xDS;
 * - `namespace:write`: create and delete namespaces;
 * - `service:write`: put and delete service configs;
 * - `instance:write`: register, heartbeat, report health, drain, deregister;
 * - `token:admin`: create, list and revoke tokens;
 * - `metrics:read`: /metrics, whose labels name every namespace and service.
 */
export const ACTIONS = [
  'namespace:read',
  'namespace:write',
  'service:read',
  'service:write',
  'instance:write',
  'token:admin',
  'metrics:read',
] as const;
export type Action = (typeof ACTIONS)[number];

/** Which scope list of an identity an action is checked against. */
export type ScopeKind = 'scopes' | 'reads';

/**
 * What each role may do, and against which of its scope lists. Actions not listed are refused.
 * `admin` is checked against nothing: it may do everything, everywhere.
 */
export const ROLE_ACTIONS: Readonly<Record<Exclude<Role, 'admin'>, Partial<Record<Action, ScopeKind>>>> = {
  operator: {
    'namespace:read': 'scopes',
    'service:read': 'scopes',
    'service:write': 'scopes',
    'instance:write': 'scopes',
    'metrics:read': 'scopes',
  },
  viewer: {
    'namespace:read': 'scopes',
    'service:read': 'scopes',
    'metrics:read': 'scopes',
  },
  // A sidecar writes only its own service's instances (its scopes) and reads what it calls.
  service: {
    'namespace:read': 'reads',
    'service:read': 'reads',
    'instance:write': 'scopes',
  },
};
