/**
 * The Consul API with the Datapunk seed's client (npm `consul`) and curl: a service registered
 * with an HTTP and a TTL check, `passing` following the TTL check, Consul-shaped errors.
 */
import test from 'ava';
import { startConsulHub } from '../helpers/consul-hub.js';

const WEB = {
  name: 'web',
  id: 'web-1',
  tags: ['v1', 'primary'],
  address: '10.0.0.1',
  port: 8080,
  meta: { team: 'shop' },
  checks: [
    { name: 'web http', http: 'http://10.0.0.1:8080/health', interval: '10s', timeout: '2s' },
    { name: 'web ttl', checkid: 'web-1-ttl', ttl: '15s', timeout: '1s', deregistercriticalserviceafter: '1m' },
  ],
};

test('a service registered with an HTTP and a TTL check is passing only while its TTL check passes', async (t) => {
  const hub = await startConsulHub(t);
  const consul = hub.consul(hub.admin);
  await consul.agent.service.register(WEB);
  const all = await consul.health.service('web');
  t.is(all.length, 1);
  t.like(all[0]!.Service, { ID: 'web-1', Service: 'web', Tags: ['v1', 'primary'], Address: '10.0.0.1', Port: 8080, Meta: { team: 'shop' } });
  t.deepEqual(
    all[0]!.Checks.map((c: { CheckID: string; Type: string; Status: string }) => [c.CheckID, c.Type, c.Status]),
    [
      ['service:web-1:1', 'http', 'passing'],
      ['web-1-ttl', 'ttl', 'critical'],
    ],
  );
  // A TTL check starts critical, as in Consul, so the instance is not passing until it reports.
  t.deepEqual(await consul.health.service({ service: 'web', passing: true }), []);
  await consul.agent.check.pass('web-1-ttl');
  t.deepEqual((await consul.health.service({ service: 'web', passing: true })).map((e) => e.Service.ID), ['web-1']);
  await consul.agent.check.fail({ id: 'web-1-ttl', note: 'disk full' });
  t.deepEqual(await consul.health.service({ service: 'web', passing: true }), []);
  const failing = await consul.health.service('web');
  t.like(failing[0]!.Checks[1], { Status: 'critical', Output: 'disk full' });
  // The registry holds it UNHEALTHY: REST discovery leaves it out, as `passing` does.
  t.is((await hub.rest('GET', '/api/v1/discover?service_name=web&namespace=default', hub.admin)).json.data.services.length, 0);
  // warn keeps it routable but not passing, as in Consul.
  await consul.agent.check.warn('web-1-ttl');
  t.deepEqual(await consul.health.service({ service: 'web', passing: true }), []);
  t.is((await hub.rest('GET', '/api/v1/discover?service_name=web&namespace=default', hub.admin)).json.data.services.length, 1);
  const updated = await hub.curl('PUT', '/v1/agent/check/update/web-1-ttl', { token: hub.admin, body: { Status: 'passing', Output: 'ok' } });
  t.is(updated.status, 200);
  t.deepEqual((await consul.health.service({ service: 'web', passing: true })).map((e) => e.Service.ID), ['web-1']);
  // The catalog, in Consul's shapes.
  t.deepEqual(await consul.catalog.service.list(), { web: ['primary', 'v1'] });
  t.like((await consul.catalog.service.nodes('web'))[0], { ServiceID: 'web-1', ServiceName: 'web', ServiceTags: ['v1', 'primary'], ServiceAddress: '10.0.0.1', ServicePort: 8080, Node: '10.0.0.1' });
  t.like((await consul.catalog.node.list())[0], { Node: '10.0.0.1', Address: '10.0.0.1', Datacenter: 'dc1' });
  // tag and filter select.
  t.is((await consul.health.service({ service: 'web', tag: 'v2' })).length, 0);
  t.is((await consul.health.service({ service: 'web', tag: 'v1' })).length, 1);
  const filtered = await hub.curl('GET', `/v1/health/service/web?filter=${encodeURIComponent('Service.Meta.team == "shop" and "primary" in Service.Tags')}`, { token: hub.admin });
  t.is(JSON.parse(filtered.body).length, 1);
  await consul.agent.service.deregister('web-1');
  t.deepEqual(await consul.health.service('web'), []);
  t.is(hub.hub.registry.getInstance('web-1'), undefined);
});

test('reads carry the X-Consul headers; agent/self and status answer; errors are plain text with Consul status codes', async (t) => {
  const hub = await startConsulHub(t);
  const consul = hub.consul(hub.admin);
  t.is(await consul.status.leader(), `127.0.0.1:${hub.addresses.httpPort}`);
  t.deepEqual(await consul.status.peers(), [`127.0.0.1:${hub.addresses.httpPort}`]);
  t.like(await consul.agent.self(), { Config: { Datacenter: 'dc1', NodeName: 'outrigger-hub' } });
  const read = await hub.curl('GET', '/v1/health/service/none', { token: hub.admin });
  t.is(read.status, 200);
  t.is(read.body, '[]');
  t.is(read.headers['x-consul-knownleader'], 'true');
  t.is(read.headers['x-consul-lastcontact'], '0');
  t.true(Number(read.headers['x-consul-index']) >= 1);
  const cases: Array<[string, string, unknown, number, RegExp]> = [
    ['PUT', '/v1/agent/service/register', { Name: 'web', Port: 80, Check: { HTTP: 'http://x/' } }, 400, /Check: must set TTL, or Interval/],
    ['PUT', '/v1/agent/service/register', { Name: 'web', Port: 70000 }, 400, /Port: must be an integer from 1 to 65535/],
    ['PUT', '/v1/agent/service/register', { Name: 'Web_1', Port: 80 }, 400, /Name/],
    ['PUT', '/v1/agent/service/register', { Name: 'web', Port: 80, Check: { TTL: 'soon' } }, 400, /Check.TTL: must be a duration/],
    ['PUT', '/v1/agent/service/register', '{"Name":', 400, /Request decode failed/],
    ['PUT', '/v1/agent/service/deregister/nope', undefined, 404, /Unknown service ID "nope"/],
    ['PUT', '/v1/agent/check/pass/nope', undefined, 404, /Unknown check ID "nope"/],
    ['PUT', '/v1/agent/check/update/nope', { Status: 'fine' }, 400, /Status: must be one of passing, warning, critical/],
    ['GET', '/v1/health/service/web?wait=soon&index=2', undefined, 400, /Invalid wait time/],
    ['GET', '/v1/health/service/web?filter=Service.Kind%20%3D%3D%20%22x%22', undefined, 400, /unknown selector "Service.Kind"/],
    ['GET', '/v1/health/service/web?dc=dc9', undefined, 500, /No path to datacenter/],
    ['GET', '/v1/kv/key', undefined, 404, /not a Consul API path the hub serves/],
    ['GET', '/v1/agent/service/register', undefined, 405, /takes PUT/],
  ];
  for (const [method, route, body, status, message] of cases) {
    const r = await hub.curl(method, route, { token: hub.admin, body });
    t.is(r.status, status, `${method} ${route}`);
    t.regex(r.body, message, `${method} ${route}`);
    t.regex(r.headers['content-type'] ?? '', /^text\/plain/);
  }
  t.is(hub.hub.registry.instanceCount, 0);
  // The consul client reports the body as the error's message.
  const err = await t.throwsAsync(consul.agent.service.register({ name: 'web', port: 0 }));
  t.regex(err!.message, /Port: must be an integer from 1 to 65535/);
});

test('the Consul namespace or partition maps to an Outrigger namespace, consul.default_namespace otherwise', async (t) => {
  const hub = await startConsulHub(t, { consul: { default_namespace: 'consul.local' } });
  const r1 = await hub.curl('PUT', '/v1/agent/service/register', { token: hub.admin, body: { Name: 'api', ID: 'api-1', Address: '10.0.0.5', Port: 80 } });
  t.is(r1.status, 200);
  t.is(hub.hub.registry.getInstance('api-1')!.namespace, 'consul.local');
  await hub.curl('PUT', '/v1/agent/service/register?ns=team-a', { token: hub.admin, body: { Name: 'api', ID: 'api-2', Address: '10.0.0.6', Port: 80 } });
  t.is(hub.hub.registry.getInstance('api-2')!.namespace, 'team-a');
  await hub.curl('PUT', '/v1/agent/service/register', { token: hub.admin, body: { Name: 'api', ID: 'api-3', Address: '10.0.0.7', Port: 80, Partition: 'part-b' } });
  t.is(hub.hub.registry.getInstance('api-3')!.namespace, 'part-b');
  const consul = hub.consul(hub.admin);
  t.deepEqual((await consul.health.service('api')).map((e) => e.Service.ID), ['api-1']);
  t.deepEqual(JSON.parse((await hub.curl('GET', '/v1/health/service/api?ns=team-a', { token: hub.admin })).body).map((e: { Service: { ID: string } }) => e.Service.ID), ['api-2']);
  const bad = await hub.curl('PUT', '/v1/agent/service/register?ns=Team_A', { token: hub.admin, body: { Name: 'api', Port: 80 } });
  t.is(bad.status, 400);
  t.regex(bad.body, /Namespace: must be a DNS name/);
});
