/**
 * Consul's DNS names on the hub's DNS server, asked with `dig`: `<svc>.service.consul` and
 * `<tag>.<svc>.service.consul` answer the healthy instances of the Consul API's default
 * namespace (the tag selecting those carrying it), within the anonymous policy.
 */
import test from 'ava';
import { startConsulHub } from '../helpers/consul-hub.js';
import { dig } from '../helpers/dig.js';

const NS = 'shop.local';

test('<svc>.service.consul and <tag>.<svc>.service.consul answer A and SRV with the healthy instances, the tag selecting', async (t) => {
  const hub = await startConsulHub(t, { consul: { default_namespace: NS }, auth: { anonymous: { enabled: true, scopes: [NS] } } });
  const put = (body: unknown) => hub.curl('PUT', '/v1/agent/service/register', { token: hub.admin, body });
  await put({ Name: 'web', ID: 'web-1', Address: '10.0.0.1', Port: 8080, Tags: ['blue', 'Primary'] });
  await put({ Name: 'web', ID: 'web-2', Address: '10.0.0.2', Port: 8081, Tags: ['green'] });
  await put({ Name: 'web', ID: 'web-3', Address: '10.0.0.3', Port: 8082, Tags: ['blue'], Check: { TTL: '30s' } });
  const port = hub.addresses.dnsPort!;
  const ips = async (name: string) => (await dig(port, name, 'A')).answer.map((r) => r.data[0]).sort();
  // web-3's TTL check has not passed: it is not healthy, so not answered.
  t.deepEqual(await ips('web.service.consul'), ['10.0.0.1', '10.0.0.2']);
  t.deepEqual(await ips('blue.web.service.consul'), ['10.0.0.1']);
  t.deepEqual(await ips('primary.web.service.consul'), ['10.0.0.1']);
  t.deepEqual(await ips('green.web.service.consul'), ['10.0.0.2']);
  await hub.curl('PUT', '/v1/agent/check/pass/service:web-3', { token: hub.admin });
  t.deepEqual(await ips('blue.web.service.consul'), ['10.0.0.1', '10.0.0.3']);
  const srv = await dig(port, 'green.web.service.consul', 'SRV');
  t.deepEqual(srv.answer.map((r) => [r.data[2], r.data[3]]), [['8081', '10-0-0-2.web.service.consul.']]);
  // The SRV target resolves (an address label, not a tag).
  t.deepEqual(await ips('10-0-0-2.web.service.consul'), ['10.0.0.2']);
  const none = await dig(port, 'red.web.service.consul', 'A');
  t.is(none.status, 'NXDOMAIN');
  t.is((await dig(port, 'nothing.service.consul', 'A')).status, 'NXDOMAIN');
  // The same instances under their Outrigger name; tags select only in Consul's zone.
  t.deepEqual(await ips(`web.${NS}`), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  t.is((await dig(port, `blue.web.${NS}`, 'A')).status, 'NXDOMAIN');
});

test('service.consul is not served when the anonymous policy may not read the Consul namespace, nor with the Consul API off', async (t) => {
  const hidden = await startConsulHub(t, { consul: { default_namespace: NS }, auth: { anonymous: { enabled: true, scopes: ['other.local'] } } });
  await hidden.curl('PUT', '/v1/agent/service/register', { token: hidden.admin, body: { Name: 'web', ID: 'web-1', Address: '10.0.0.1', Port: 80 } });
  t.deepEqual((await dig(hidden.addresses.dnsPort!, 'web.service.consul', 'A')).answer, []);
  const off = await startConsulHub(t, { consul: { enabled: false } });
  off.hub.registry.register({ id: 'web-1', service: 'web', address: '10.0.0.1', port: 80 });
  t.deepEqual((await dig(off.addresses.dnsPort!, 'web.service.consul', 'A')).answer, []);
  t.is((await off.curl('GET', '/v1/catalog/services', { token: off.admin })).status, 404);
});
