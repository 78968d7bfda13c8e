/**
 * Tokens on the Consul API: X-Consul-Token or a bearer token, the hub's own identities through
 * its one AccessControl. Writes follow the token's scopes and are audited; a service the token
 * may not read is answered as one that does not exist, with an index that never moves.
 */
import test from 'ava';
import { startConsulHub } from '../helpers/consul-hub.js';

const reg = (name: string, id: string, ns?: string) => ({ Name: name, ID: id, Address: '10.0.0.1', Port: 80, ...(ns !== undefined ? { Namespace: ns } : {}) });

test('refusals follow the token: unknown or missing tokens, scopes for writes, reads filtered as if missing', async (t) => {
  const hub = await startConsulHub(t);
  const webSidecar = await hub.token('service', ['default/web'], { reads: ['default/api'] });
  const viewerOther = await hub.token('viewer', ['other.local']);
  // No token (no anonymous policy) and an unknown one: 403, as Consul's ACLs answer.
  const none = await hub.curl('GET', '/v1/catalog/services');
  t.is(none.status, 403);
  t.regex(none.body, /^ACL not found/);
  const unknown = await hub.curl('GET', '/v1/catalog/services', { token: 'ort_not-a-token' });
  t.is(unknown.status, 403);
  // The service token registers its own service, with either header.
  // A write answers 200 with an empty body, as an agent does.
  const mine = await hub.curl('PUT', '/v1/agent/service/register', { token: webSidecar, body: reg('web', 'web-1') });
  t.deepEqual([mine.status, mine.body], [200, '']);
  t.is((await hub.curl('PUT', '/v1/agent/service/register', { header: `Authorization: Bearer ${webSidecar}`, body: reg('web', 'web-2') })).status, 200);
  const other = await hub.curl('PUT', '/v1/agent/service/register', { token: webSidecar, body: reg('api', 'api-1') });
  t.is(other.status, 403);
  t.regex(other.body, /^Permission denied: instance:write on api.default is not allowed/);
  t.is(hub.hub.registry.getInstance('api-1'), undefined);
  t.is((await hub.curl('PUT', '/v1/agent/service/register', { token: hub.admin, body: reg('api', 'api-1') })).status, 200);
  t.is((await hub.curl('PUT', '/v1/agent/service/register', { token: hub.admin, body: reg('secret', 'secret-1') })).status, 200);
  // It may deregister its own, not another service's, and one it may not read is not found.
  t.is((await hub.curl('PUT', '/v1/agent/service/deregister/api-1', { token: webSidecar })).status, 403);
  const hidden = await hub.curl('PUT', '/v1/agent/service/deregister/secret-1', { token: webSidecar });
  t.is(hidden.status, 404);
  t.regex(hidden.body, /Unknown service ID "secret-1"/);
  t.truthy(hub.hub.registry.getInstance('secret-1'));
  // Reads: what the token may read, and nothing else; the hidden service looks like a missing one.
  const consul = hub.consul(webSidecar);
  t.deepEqual(await consul.catalog.service.list(), { api: [] });
  t.deepEqual((await consul.health.service('api')).map((e: { Service: { ID: string } }) => e.Service.ID), ['api-1']);
  const secret = await hub.curl('GET', '/v1/health/service/secret', { token: webSidecar });
  const missing = await hub.curl('GET', '/v1/health/service/nothing-here', { token: webSidecar });
  t.is(secret.body, '[]');
  t.is(secret.headers['x-consul-index'], missing.headers['x-consul-index']);
  // A viewer of another namespace sees nothing here and writes nothing.
  t.deepEqual(await hub.consul(viewerOther).catalog.service.list(), {});
  const denied = await hub.curl('PUT', '/v1/agent/service/register', { token: viewerOther, body: reg('web', 'web-9', 'other.local') });
  t.is(denied.status, 403);
  // Writes are audited under the consul API with the scope that allowed them; refusals too.
  const audit = hub.logs.filter((l) => l.msg === 'audit' && l.api === 'consul');
  t.true(audit.some((l) => l.op === 'agent/service/register' && l.result === 'ok' && l.scope === 'default/web'));
  t.true(audit.some((l) => l.op === 'agent/service/register' && l.result === 'permission_denied'));
  t.false(hub.logText().includes(webSidecar), 'no secret in the log');
});

test('writes count against the hub write limiter: over it, 429 and nothing changes', async (t) => {
  const hub = await startConsulHub(t, { limits: { writes_per_second: 1, write_burst: 2 } });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await hub.curl('PUT', '/v1/agent/service/register', { token: hub.admin, body: reg('web', `web-${i}`) })).status);
  t.true(statuses.includes(429), statuses.join(' '));
  t.is(hub.hub.registry.instancesOf('default', 'web').length, statuses.filter((s) => s === 200).length);
});
