/**
 * Who may do what over REST, on a whole hub with auth on: default deny, roles and scopes, and a
 * refusal that changes nothing and says why.
 */
import test from 'ava';
import { startAuthHub, type AuthHub } from '../helpers/auth-hub.js';
import { registrySnapshot } from '../helpers/http-registry-snapshot.js';

const inst = (id: string, service: string, namespace: string) => ({ id, name: service, namespace, address: '10.0.0.1', port: 8080, ttl: 0 });

async function hubWith(t: { teardown(fn: () => Promise<void>): void }, config: Record<string, unknown> = {}): Promise<AuthHub> {
  const h = await startAuthHub(config);
  t.teardown(() => h.close());
  return h;
}

test('no credentials: 401 with WWW-Authenticate on every API route, probes still answer', async (t) => {
  const h = await hubWith(t);
  for (const [method, route] of [
    ['GET', '/api/v1/services'],
    ['POST', '/api/v1/services'],
    ['GET', '/api/v1/discover?service_name=x&namespace=a.local'],
    ['GET', '/api/v1/namespaces'],
    ['PUT', '/api/v1/namespaces/a.local/services/x'],
    ['GET', '/metrics'],
    ['GET', '/api/v1/auth/whoami'],
    ['GET', '/api/v1/auth/tokens'],
  ] as const) {
    const r = await h.rest(method, route, undefined, method === 'GET' ? undefined : {});
    t.is(r.status, 401, `${method} ${route}`);
    t.is(r.json.error.code, 'unauthenticated');
    t.regex(r.json.error.message, /no credentials: send "authorization: Bearer <token>"/);
    t.is(r.headers.get('www-authenticate'), 'Bearer realm="outrigger"');
  }
  t.is((await h.rest('GET', '/health', undefined)).status, 200);
  t.is((await h.rest('GET', '/ready', undefined)).status, 200);
  const basic = await fetch(`${h.addresses.http}/api/v1/services`, { headers: { authorization: 'Basic YTpi' } });
  t.is(basic.status, 401);
  t.regex(((await basic.json()) as { error: { message: string } }).error.message, /only "Bearer <token>" is accepted/);
  const unknown = await h.rest('GET', '/api/v1/services', 'ort_not-a-real-token');
  t.is(unknown.status, 401);
  t.regex(unknown.json.error.message, /not one the hub knows/);
});

test('a token scoped to namespace A cannot register into B, nor deregister or change B\'s instance', async (t) => {
  const h = await hubWith(t);
  const opA = await h.token('operator', ['a.local']);
  t.is((await h.rest('POST', '/api/v1/services', h.admin, inst('b-1', 'api', 'b.local'))).status, 201);
  t.is((await h.rest('POST', '/api/v1/services', opA, inst('a-1', 'api', 'a.local'))).status, 201, 'its own namespace');
  const before = registrySnapshot(h.hub.registry);

  const intoB = await h.rest('POST', '/api/v1/services', opA, inst('a-2', 'api', 'b.local'));
  t.is(intoB.status, 403);
  t.is(intoB.json.error.code, 'permission_denied');
  t.regex(intoB.json.error.message, /^instance:write on api\.b\.local is not allowed for token tok-[0-9a-f]+ \(operator; scopes a\.local\)$/);
  const takeOver = await h.rest('POST', '/api/v1/services', opA, inst('b-1', 'api', 'a.local'));
  t.is(takeOver.status, 403, 'an id of B cannot be moved into A');
  t.regex(takeOver.json.error.message, /instance:write on api\.b\.local/);
  for (const [method, route, body] of [
    ['DELETE', '/api/v1/services/b-1', undefined],
    ['POST', '/api/v1/services/b-1/heartbeat', undefined],
    ['PUT', '/api/v1/services/b-1/health', { health: 'DRAINING' }],
    ['PUT', '/api/v1/namespaces/b.local/services/api', { lb_policy: 'random' }],
    ['DELETE', '/api/v1/namespaces/b.local/services/api', undefined],
    ['POST', '/api/v1/namespaces', { name: 'c.local' }],
    ['DELETE', '/api/v1/namespaces/b.local', undefined],
  ] as const) {
    const r = await h.rest(method, route, opA, body);
    t.is(r.status, 403, `${method} ${route}`);
    t.is(r.json.error.code, 'permission_denied');
  }
  t.deepEqual(registrySnapshot(h.hub.registry), before, 'nothing changed');
  t.is((await h.rest('GET', '/api/v1/services/b-1', opA)).status, 403, "B's instance cannot even be read");
  t.is((await h.rest('PUT', '/api/v1/namespaces/a.local/services/api', opA, { lb_policy: 'random' })).status, 200, 'its own service config');
});

test("a service token for web cannot register as payments, nor take payments' instance id", async (t) => {
  const h = await hubWith(t);
  const web = await h.token('service', ['shop.local/web']);
  t.is((await h.rest('POST', '/api/v1/services', h.admin, inst('payments-1', 'payments', 'shop.local'))).status, 201);
  const before = registrySnapshot(h.hub.registry);
  const asPayments = await h.rest('POST', '/api/v1/services', web, inst('web-x', 'payments', 'shop.local'));
  t.is(asPayments.status, 403);
  t.regex(asPayments.json.error.message, /instance:write on payments\.shop\.local is not allowed for token \S+ \(service; scopes shop\.local\/web; reads \*\)/);
  t.is((await h.rest('POST', '/api/v1/services', web, inst('payments-1', 'web', 'shop.local'))).status, 403, 'the id belongs to payments');
  t.is((await h.rest('DELETE', '/api/v1/services/payments-1', web)).status, 403);
  t.is((await h.rest('PUT', '/api/v1/namespaces/shop.local/services/web', web, {})).status, 403, 'a sidecar does not change service configs');
  t.deepEqual(registrySnapshot(h.hub.registry), before);

  t.is((await h.rest('POST', '/api/v1/services', web, inst('web-1', 'web', 'shop.local'))).status, 201, 'its own service');
  t.is((await h.rest('POST', '/api/v1/services/web-1/heartbeat', web)).status, 200);
  const seen = await h.rest('GET', '/api/v1/discover?service_name=payments.shop.local', web);
  t.is(seen.status, 200, 'it reads the services it calls');
  t.deepEqual(seen.json.data.services.map((i: { id: string }) => i.id), ['payments-1']);
  t.is((await h.rest('DELETE', '/api/v1/services/web-1', web)).status, 200);
});

test('a viewer reads within its scopes and cannot write anything', async (t) => {
  const h = await hubWith(t);
  for (const [id, ns] of [['a-1', 'a.local'], ['b-1', 'b.local'], ['t-1', 'team-x.local']] as const) {
    t.is((await h.rest('POST', '/api/v1/services', h.admin, { ...inst(id, 'api', ns), health: 'HEALTHY' })).status, 201);
  }
  const viewer = await h.token('viewer', ['a.local', 'team-*']);
  const before = registrySnapshot(h.hub.registry);
  const names = (await h.rest('GET', '/api/v1/namespaces', viewer)).json.data.namespaces.map((n: { name: string }) => n.name);
  t.deepEqual(names.sort(), ['a.local', 'team-x.local'], 'only namespaces in scope are listed');
  const all = (await h.rest('GET', '/api/v1/services', viewer)).json.data.services.map((i: { id: string }) => i.id);
  t.deepEqual(all.sort(), ['a-1', 't-1']);
  const wide = (await h.rest('GET', '/api/v1/discover', viewer)).json.data.services.map((i: { id: string }) => i.id);
  t.deepEqual(wide.sort(), ['a-1', 't-1'], 'a discover without a service sees only what is in scope');
  t.is((await h.rest('GET', '/api/v1/discover?service_name=api.b.local', viewer)).status, 403, 'naming a service out of scope is refused');
  t.is((await h.rest('GET', '/api/v1/namespaces/b.local/services', viewer)).status, 403);
  t.is((await h.rest('GET', '/api/v1/namespaces/a.local/services/api/instances', viewer)).status, 200);
  for (const [method, route, body] of [
    ['POST', '/api/v1/services', inst('a-2', 'api', 'a.local')],
    ['DELETE', '/api/v1/services/a-1', undefined],
    ['POST', '/api/v1/services/a-1/heartbeat', undefined],
    ['PUT', '/api/v1/services/a-1/health', { health: 'DRAINING' }],
    ['PUT', '/api/v1/namespaces/a.local/services/api', {}],
    ['DELETE', '/api/v1/namespaces/a.local/services/api', undefined],
    ['POST', '/api/v1/namespaces', { name: 'a.local' }],
    ['POST', '/api/v1/auth/tokens', { name: 'x', role: 'admin' }],
  ] as const) {
    const r = await h.rest(method, route, viewer, body);
    t.is(r.status, 403, `${method} ${route}`);
    t.regex(r.json.error.message, /is not allowed for token \S+ \(viewer; scopes a\.local, team-\*\)/);
  }
  t.deepEqual(registrySnapshot(h.hub.registry), before);
  t.is((await h.rest('GET', '/metrics', viewer)).status, 403, '/metrics names every service: a whole-registry read');
  const everything = await h.token('viewer', ['*']);
  t.is((await h.rest('GET', '/metrics', everything)).status, 200);
});

test('a service-narrowed scope sees its namespace, and only its services in it', async (t) => {
  const h = await hubWith(t);
  for (const svc of ['cart', 'cart-api', 'users']) t.is((await h.rest('POST', '/api/v1/services', h.admin, inst(`${svc}-1`, svc, 'shop.local'))).status, 201);
  const viewer = await h.token('viewer', ['shop.local/cart*']);
  t.deepEqual((await h.rest('GET', '/api/v1/namespaces', viewer)).json.data.namespaces.map((n: { name: string }) => n.name), ['shop.local']);
  const listed = (await h.rest('GET', '/api/v1/namespaces/shop.local/services', viewer)).json.data.services.map((s: { name: string }) => s.name);
  t.deepEqual(listed.sort(), ['cart', 'cart-api']);
  t.is((await h.rest('GET', '/api/v1/namespaces/shop.local/services/users', viewer)).status, 403);
});

test('a caller without the right learns nothing of what exists: the same 403 for a namespace or service that exists and one that does not', async (t) => {
  const h = await hubWith(t);
  t.is((await h.rest('POST', '/api/v1/services', h.admin, inst('b-1', 'api', 'b.local'))).status, 201);
  const viewer = await h.token('viewer', ['a.local']);
  for (const [method, existing, missing] of [
    ['GET', '/api/v1/namespaces/b.local', '/api/v1/namespaces/nope.local'],
    ['DELETE', '/api/v1/namespaces/b.local', '/api/v1/namespaces/nope.local'],
    ['GET', '/api/v1/namespaces/b.local/services', '/api/v1/namespaces/nope.local/services'],
    ['GET', '/api/v1/namespaces/b.local/services/api', '/api/v1/namespaces/nope.local/services/api'],
  ] as const) {
    const a = await h.rest(method, existing, viewer);
    const b = await h.rest(method, missing, viewer);
    t.is(a.status, 403, `${method} ${existing}`);
    t.is(b.status, 403, `${method} ${missing}`);
    t.is(a.json.error.message.replace('b.local', 'X'), b.json.error.message.replace('nope.local', 'X'), `${method}: only the name differs`);
  }
});

test('the anonymous policy lets callers without credentials read within its scopes, and nothing more', async (t) => {
  const h = await hubWith(t, { auth: { anonymous: { enabled: true, scopes: ['public.local'] } } });
  t.is((await h.rest('POST', '/api/v1/services', h.admin, { ...inst('p-1', 'api', 'public.local'), health: 'HEALTHY' })).status, 201);
  t.is((await h.rest('POST', '/api/v1/services', h.admin, { ...inst('s-1', 'api', 'secret.local'), health: 'HEALTHY' })).status, 201);
  const who = await h.rest('GET', '/api/v1/auth/whoami', undefined);
  t.deepEqual([who.json.data.kind, who.json.data.role, who.json.data.scopes], ['anonymous', 'viewer', ['public.local']]);
  t.deepEqual((await h.rest('GET', '/api/v1/discover', undefined)).json.data.services.map((i: { id: string }) => i.id), ['p-1']);
  t.is((await h.rest('GET', '/api/v1/discover?service_name=api.secret.local', undefined)).status, 403);
  t.is((await h.rest('POST', '/api/v1/services', undefined, inst('p-2', 'api', 'public.local'))).status, 403, 'anonymous never writes');
  t.is((await h.rest('GET', '/api/v1/services', 'ort_bogus')).status, 401, 'a bad token is refused, not treated as anonymous');
});

test('every write and every refusal is an audit line naming who, what, the scope and the result', async (t) => {
  const h = await hubWith(t);
  const op = await h.token('operator', ['a.local']);
  t.is((await h.rest('POST', '/api/v1/services', op, inst('a-1', 'api', 'a.local'))).status, 201);
  t.is((await h.rest('POST', '/api/v1/services', op, inst('b-1', 'api', 'b.local'))).status, 403);
  t.is((await h.rest('POST', '/api/v1/services', op, { ...inst('a-2', 'api', 'a.local'), port: 0 })).status, 400);
  t.is((await h.rest('GET', '/api/v1/services', undefined)).status, 401);
  const audit = h.logs.filter((l) => l.msg === 'audit');
  const opId = audit.find((l) => l.result === 'ok')?.who as string;
  t.regex(opId, /^tok-[0-9a-f]{12}$/);
  t.like(audit.find((l) => l.result === 'ok'), { api: 'rest', op: 'POST /api/v1/services', who: opId, role: 'operator', action: 'instance:write', resource: 'api.a.local', scope: 'a.local', peer: '127.0.0.1' });
  t.like(audit.find((l) => l.result === 'permission_denied'), { who: opId, action: 'instance:write', resource: 'api.b.local', scope: 'a.local' });
  // Refused by validation before any check: still audited as the write it tried to be.
  t.like(audit.find((l) => l.result === 'invalid_argument'), { who: opId, op: 'POST /api/v1/services', role: 'operator' });
  t.like(audit.find((l) => l.result === 'unauthenticated'), { who: 'unknown', op: 'GET /api/v1/services' });
  t.false(h.logText().includes(op), 'the token never appears in the log');
  t.false(h.logText().includes(h.admin));
  const refusals = await h.hub.metrics.authRefusals.get();
  t.deepEqual(refusals.values.map((v) => [v.labels.code, v.value]).sort(), [['permission_denied', 1], ['unauthenticated', 1]]);
});

test('the audit says what happened: a write refused by the rate limit is rate_limited, a heartbeat is logged only when it fails', async (t) => {
  const h = await hubWith(t, { limits: { writes_per_second: 0.5, write_burst: 3 } });
  const op = await h.token('operator', ['a.local']);
  t.is((await h.rest('POST', '/api/v1/services', op, inst('a-1', 'api', 'a.local'))).status, 201);
  t.is((await h.rest('POST', '/api/v1/services/a-1/heartbeat', op)).status, 200);
  t.is((await h.rest('POST', '/api/v1/services/nope-1/heartbeat', op)).status, 404);
  t.is((await h.rest('POST', '/api/v1/services', op, inst('a-2', 'api', 'a.local'))).status, 429);
  const audit = h.logs.filter((l) => l.msg === 'audit').map((l) => [l.op, l.result]);
  t.deepEqual(audit, [
    ['POST /api/v1/services', 'ok'],
    ['POST /api/v1/services/{id}/heartbeat', 'not_found'],
    ['POST /api/v1/services', 'rate_limited'],
  ]);
});
