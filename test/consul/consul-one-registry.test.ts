/**
 * One registry: an instance registered through the Consul API is seen over REST, xDS and DNS,
 * and one registered over REST is seen through the Consul API, with tags and health.
 */
import test from 'ava';
import { ENDPOINT_TYPE_URL } from '../../src/xds/type-urls.js';
import { startConsulHub } from '../helpers/consul-hub.js';
import { dig } from '../helpers/dig.js';
import { AdsTestStream } from '../helpers/xds-ads-client.js';

const NS = 'shop.local';

test('an instance registered through Consul is visible over REST, xDS and DNS, and the other way round', async (t) => {
  const hub = await startConsulHub(t, { consul: { default_namespace: NS }, auth: { anonymous: { enabled: true, scopes: [NS] } } });
  const consul = hub.consul(hub.admin);
  await consul.agent.service.register({ name: 'web', id: 'web-1', tags: ['blue'], address: '10.0.0.1', port: 8080, meta: { team: 'shop' } });
  const rest = await hub.rest('GET', `/api/v1/discover?namespace=${NS}&service_name=web`, hub.admin);
  t.deepEqual(rest.json.data.services.map((i: { id: string; port: number }) => [i.id, i.port]), [['web-1', 8080]]);
  t.regex((await hub.rest('GET', '/metrics', hub.admin)).text, /^outrigger_hub_registrations_total\{api="consul"\} 1$/m, 'counted as a registration');
  const ads = AdsTestStream.open(hub.addresses.grpc, 'consul-reader', hub.admin);
  t.teardown(() => ads.closeClient());
  ads.request(ENDPOINT_TYPE_URL, [`web.${NS}`]);
  t.true(JSON.stringify((await ads.next()).resources).includes('10.0.0.1'), 'xDS carries the Consul-registered instance');
  const a = await dig(hub.addresses.dnsPort!, `web.${NS}`, 'A');
  t.deepEqual(a.answer.map((r) => r.data[0]), ['10.0.0.1']);
  // The other way: a REST registration, unhealthy, is in the Consul catalog and out of `passing`.
  const created = await hub.rest('POST', '/api/v1/services', hub.admin, { id: 'web-2', name: 'web', namespace: NS, address: '10.0.0.2', port: 8080, health: 'UNHEALTHY', ttl: 0 });
  t.is(created.status, 201);
  const entries = await consul.health.service('web');
  t.deepEqual(entries.map((e: { Service: { ID: string } }) => e.Service.ID), ['web-1', 'web-2']);
  t.is(entries[1].Checks[0].Status, 'critical');
  t.deepEqual((await consul.health.service({ service: 'web', passing: true })).map((e: { Service: { ID: string } }) => e.Service.ID), ['web-1']);
  t.is((await hub.rest('PUT', '/api/v1/services/web-2/health', hub.admin, { health: 'HEALTHY' })).status, 200);
  t.is((await consul.health.service({ service: 'web', passing: true })).length, 2);
});
