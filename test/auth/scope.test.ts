import test from 'ava';
import { allows, readFilter } from '../../src/auth/access-check.js';
import type { Identity } from '../../src/auth/identity.js';
import { ACTIONS, ROLES, type Role } from '../../src/auth/roles.js';
import { ALL, covers, parseScope, type Scope } from '../../src/auth/scope.js';

const scope = (text: string): Scope => {
  const s = parseScope(text);
  if (s === undefined) throw new Error(`not a scope: ${text}`);
  return s;
};

test('scopes are "*", a namespace name or prefix, optionally narrowed to a service name or prefix', (t) => {
  for (const ok of ['*', 'shop.local', 'team-a-*', 'shop.local/cart', 'shop.local/cart-*', '*/cart', 'shop.*/web-*']) t.truthy(parseScope(ok), ok);
  for (const bad of ['', 'Shop.local', 'shop.local/', '/cart', 'a*b', 'shop.local/ca*rt', 'a/b/c', 'shop local', 'x'.repeat(321)]) t.is(parseScope(bad), undefined, bad);
});

test('what a scope covers: the whole registry only for "*", a namespace unless narrowed, services by name or prefix', (t) => {
  t.true(covers(ALL, {}));
  t.false(covers(scope('shop.local'), {}), 'a namespace scope is not the whole registry');
  t.true(covers(scope('shop.local'), { namespace: 'shop.local' }));
  t.true(covers(scope('shop.local'), { namespace: 'shop.local', service: 'cart' }));
  t.false(covers(scope('shop.local'), { namespace: 'shop.localx', service: 'cart' }), 'an exact name is not a prefix');
  t.true(covers(scope('team-*'), { namespace: 'team-a.local', service: 'x' }));
  t.false(covers(scope('team-*'), { namespace: 'teams.local', service: 'x' }));
  t.false(covers(scope('shop.local/cart'), { namespace: 'shop.local' }), 'a service scope does not cover its namespace');
  t.true(covers(scope('shop.local/cart'), { namespace: 'shop.local', service: 'cart' }));
  t.false(covers(scope('shop.local/cart'), { namespace: 'shop.local', service: 'cart-api' }));
  t.true(covers(scope('shop.local/cart*'), { namespace: 'shop.local', service: 'cart-api' }));
});

const who = (role: Role, scopes: string[], reads?: string[]): Identity => ({
  name: 'x',
  kind: 'token',
  role,
  scopes: scopes.map(scope),
  reads: (reads ?? (role === 'service' ? ['*'] : scopes)).map(scope),
});

test('each role grants its actions within its scopes and nothing else (default deny)', (t) => {
  const inScope = { namespace: 'shop.local', service: 'cart' };
  const outOfScope = { namespace: 'other.local', service: 'cart' };
  const expected: Record<Role, string[]> = {
    admin: [...ACTIONS],
    operator: ['namespace:read', 'service:read', 'service:write', 'instance:write'],
    viewer: ['namespace:read', 'service:read'],
    service: ['namespace:read', 'service:read', 'instance:write'],
  };
  for (const role of ROLES) {
    const id = who(role, role === 'service' ? ['shop.local/cart'] : ['shop.local'], role === 'service' ? ['shop.local'] : undefined);
    const granted = ACTIONS.filter((a) => allows(id, a, a === 'token:admin' || a === 'metrics:read' ? {} : inScope));
    t.deepEqual(granted, expected[role], role);
    if (role !== 'admin') t.false(ACTIONS.some((a) => allows(id, a, outOfScope)), `${role} may do nothing outside its scopes`);
  }
  t.false(allows(who('operator', ['shop.local']), 'namespace:write', { namespace: 'shop.local' }), 'only admins create and delete namespaces');
  t.false(allows(who('operator', ['shop.local']), 'token:admin', {}));
  t.true(allows(who('viewer', ['*']), 'metrics:read', {}), 'metrics name everything: a viewer of everything may read them');
  t.false(allows(who('viewer', ['shop.local']), 'metrics:read', {}));
});

test('a service identity writes its own service and reads within its reads', (t) => {
  const web = who('service', ['shop.local/web'], ['shop.local', 'accounts.local/users']);
  t.true(allows(web, 'instance:write', { namespace: 'shop.local', service: 'web' }));
  t.false(allows(web, 'instance:write', { namespace: 'shop.local', service: 'payments' }));
  t.true(allows(web, 'service:read', { namespace: 'accounts.local', service: 'users' }));
  t.false(allows(web, 'service:read', { namespace: 'accounts.local', service: 'billing' }));
  const filter = readFilter(web)!;
  t.true(filter.namespace('accounts.local'), 'a namespace is visible through a service scope inside it');
  t.false(filter.namespace('vault.local'));
  t.is(readFilter(who('service', ['shop.local/web'])), undefined, 'reading everything needs no filter');
});
