/**
 * The dashboard's API on a real hub with auth on: the view and what it offers by role, the
 * xDS subscribers (metrics:read, default deny), the weight route's validation and access check,
 * the event stream fed by registry changes, and the static files.
 */
import test from 'ava';
import { startAuthHubFor, type AuthHub } from '../helpers/auth-hub.js';
import { until } from '../helpers/wait.js';

const register = (h: AuthHub, id: string, namespace: string, service: string) =>
  h.rest('POST', '/api/v1/services', h.admin, { id, name: service, namespace, address: '127.0.0.1', port: 9000, ttl: 0 });

test('the view shows what the caller may read, and offers the actions its role allows there', async (t) => {
  const h = await startAuthHubFor(t);
  await register(h, 'a-1', 'a.local', 'api');
  await register(h, 'b-1', 'b.local', 'api');
  const viewer = await h.token('viewer', ['a.local']);
  const operator = await h.token('operator', ['a.local']);

  const seen = (await h.rest('GET', '/api/v1/dashboard', viewer)).json.data;
  t.deepEqual(seen.view.namespaces.map((n: { name: string }) => n.name), ['a.local']);
  const svc = seen.view.namespaces[0].services[0];
  t.like(svc, { name: 'api', namespace: 'a.local', counts: { healthy: 1, total: 1 }, can: { instance_write: false, service_write: false } });
  t.like(svc.instances[0], { id: 'a-1', health: 'HEALTHY', weight: 100, source: 'self', lease: { kind: 'none' } });
  t.like(seen.view, { identity: { role: 'viewer' }, self_preservation: false, totals: { namespaces: 1, services: 1, instances: 1, healthy: 1 } });
  // The subscribers name nodes across the mesh: as with /metrics, only a viewer of everything sees them.
  t.is(seen.stats.subscribers, null);
  const everything = await h.token('viewer', ['*']);
  t.deepEqual((await h.rest('GET', '/api/v1/dashboard', everything)).json.data.stats.subscribers, []);

  const op = (await h.rest('GET', '/api/v1/dashboard', operator)).json.data.view;
  t.like(op.namespaces[0].services[0], { can: { instance_write: true, service_write: true } });
  t.is((await h.rest('GET', '/api/v1/dashboard', undefined)).status, 401);
});

test('the subscribers need metrics:read: without a token 401, a service token 403', async (t) => {
  const h = await startAuthHubFor(t);
  const service = await h.token('service', ['a.local/api']);
  const none = await h.rest('GET', '/api/v1/xds/subscribers', undefined);
  t.is(none.status, 401);
  const refused = await h.rest('GET', '/api/v1/xds/subscribers', service);
  t.is(refused.status, 403);
  t.regex(refused.json.error.message, /^metrics:read on .* is not allowed for token tok-/);
  t.is((await h.rest('GET', '/api/v1/dashboard', service)).json.data.stats.subscribers, null);
  t.like((await h.rest('GET', '/api/v1/xds/subscribers', h.admin)).json.data, { subscribers: [], count: 0, stale: 0 });
});

test('PUT weight validates its body, checks instance:write, and changes only the weight', async (t) => {
  const h = await startAuthHubFor(t);
  await register(h, 'a-1', 'a.local', 'api');
  const other = await h.token('operator', ['b.local']);
  const bad = await h.rest('PUT', '/api/v1/services/a-1/weight', h.admin, { weight: 0 });
  t.is(bad.status, 400);
  t.like(bad.json.error, { code: 'invalid_argument', field: 'weight' });
  t.regex(bad.json.error.message, /^weight: must be an integer from 1 to 1000/);
  t.is((await h.rest('PUT', '/api/v1/services/a-1/weight', h.admin, { weight: 5, zone: 'x' })).json.error.field, 'zone');
  t.is((await h.rest('PUT', '/api/v1/services/a-1/weight', other, { weight: 5 })).status, 403);
  t.is((await h.rest('GET', '/api/v1/services/a-1', h.admin)).json.data.weight, 100);
  const ok = await h.rest('PUT', '/api/v1/services/a-1/weight', h.admin, { weight: 5 });
  t.is(ok.status, 200);
  t.like(ok.json.data, { id: 'a-1', weight: 5, health: 'HEALTHY' });
  t.is((await h.rest('PUT', '/api/v1/services/nope/weight', h.admin, { weight: 5 })).status, 404);
});

test('the watch stream sends the view again after a registry change', async (t) => {
  const h = await startAuthHubFor(t);
  const abort = new AbortController();
  t.teardown(() => abort.abort());
  const res = await fetch(`${h.addresses.http}/api/v1/dashboard?watch=true`, { headers: { authorization: `Bearer ${h.admin}` }, signal: abort.signal });
  t.is(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const views: any[] = [];
  let stats = 0;
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === 'view') views.push(JSON.parse(data!));
        if (event === 'stats') stats++;
      }
    }
  })().catch(() => undefined);
  await until('the first view and stats', () => views.length === 1 && stats >= 1);
  t.is(views[0].totals.instances, 0);
  await register(h, 'a-1', 'a.local', 'api');
  await until('a view with the new instance', () => views.some((v) => v.totals.instances === 1));
  t.is(views.at(-1).namespaces[0].services[0].instances[0].id, 'a-1');
});

test('the dashboard files are served without a token, with a content security policy; other names are 404', async (t) => {
  const h = await startAuthHubFor(t);
  const page = await fetch(`${h.addresses.http}/ui/`);
  t.is(page.status, 200);
  t.regex(page.headers.get('content-type')!, /^text\/html/);
  t.regex(page.headers.get('content-security-policy')!, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
  t.regex(await page.text(), /<script type="module" src="\/ui\/hub-app.js">/);
  const preact = await fetch(`${h.addresses.http}/ui/vendor/preact.mjs`);
  t.is(preact.status, 200);
  t.regex(preact.headers.get('content-type')!, /^text\/javascript/);
  for (const path of ['/ui/..%2Fpackage.json', '/ui/vendor/..%2F..%2Fpackage.json', '/ui/nope.js', '/ui/sidecar-app.js']) {
    t.is((await fetch(`${h.addresses.http}${path}`)).status, 404, path);
  }
});
