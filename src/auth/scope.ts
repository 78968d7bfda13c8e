/**
 * Scopes: where a role applies. A scope is a namespace name or prefix, optionally narrowed to a
 * service name or prefix (Consul's `service_prefix`), written `<namespace>[/<service>]`:
 *
 *   `*`                      every namespace and service
 *   `shop.local`             the namespace shop.local, all its services
 *   `team-a-*`               every namespace whose name starts with team-a-
 *   `shop.local/cart`        the service cart in shop.local
 *   `shop.local/cart-*`      services of shop.local whose names start with cart-
 */
import { z } from 'zod';

/** An exact name, or a prefix (`*` alone is the empty prefix: everything). */
export type NamePattern = { readonly exact: string } | { readonly prefix: string };

export interface Scope {
  readonly namespace: NamePattern;
  readonly service?: NamePattern;
  /** As written, for messages and audit lines. */
  readonly text: string;
}

/** What an action is about: a namespace, a service in it, or (neither) the whole registry. */
export interface Resource {
  readonly namespace?: string;
  readonly service?: string;
}

const NAME_CHARS = /^[a-z0-9.-]*$/;
const MAX_SCOPE_LENGTH = 320;

export const SCOPE_SYNTAX = '"*", a namespace name or prefix ("shop.local", "team-a-*"), optionally narrowed to a service name or prefix ("shop.local/cart", "shop.local/cart-*")';

function pattern(text: string): NamePattern | undefined {
  const star = text.indexOf('*');
  if (star === -1) return text !== '' && NAME_CHARS.test(text) ? { exact: text } : undefined;
  // Only a trailing `*` is a wildcard.
  if (star !== text.length - 1) return undefined;
  const prefix = text.slice(0, -1);
  return NAME_CHARS.test(prefix) ? { prefix } : undefined;
}

/** Parses a scope; undefined when it is not one (the caller says where it came from). */
export function parseScope(text: string): Scope | undefined {
  if (text.length === 0 || text.length > MAX_SCOPE_LENGTH) return undefined;
  const slash = text.indexOf('/');
  const nsText = slash === -1 ? text : text.slice(0, slash);
  const namespace = pattern(nsText);
  if (namespace === undefined) return undefined;
  if (slash === -1) return { namespace, text };
  const service = pattern(text.slice(slash + 1));
  if (service === undefined || text.indexOf('/', slash + 1) !== -1) return undefined;
  return { namespace, service, text };
}

export const scopeSchema = z.string({ error: `must be a scope: ${SCOPE_SYNTAX}` }).transform((text, ctx): Scope => {
  const scope = parseScope(text);
  if (scope === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be a scope: ${SCOPE_SYNTAX}` });
    return z.NEVER;
  }
  return scope;
});

export const ALL: Scope = { namespace: { prefix: '' }, text: '*' };

function matches(p: NamePattern, name: string): boolean {
  return 'exact' in p ? p.exact === name : name.startsWith(p.prefix);
}

function isEverything(p: NamePattern | undefined): boolean {
  return p === undefined || ('prefix' in p && p.prefix === '');
}

/**
 * Whether the scope covers the resource: the whole registry only for `*`; a namespace when
 * the scope names it without narrowing to services; a service when both parts match.
 */
export function covers(scope: Scope, resource: Resource): boolean {
  if (resource.namespace === undefined) return isEverything(scope.namespace) && isEverything(scope.service);
  if (!matches(scope.namespace, resource.namespace)) return false;
  if (resource.service === undefined) return isEverything(scope.service);
  return scope.service === undefined || matches(scope.service, resource.service);
}

/** Whether anything in the namespace is within the scope (a namespace is visible to a service-narrowed scope). */
export function touches(scope: Scope, namespace: string): boolean {
  return matches(scope.namespace, namespace);
}

/** The resource as messages show it: `cart.shop.local`, `namespace shop.local`, `the whole registry`. */
export function describeResource(resource: Resource): string {
  if (resource.namespace === undefined) return 'the whole registry';
  if (resource.service === undefined) return `namespace ${resource.namespace}`;
  return `${resource.service}.${resource.namespace}`;
}
