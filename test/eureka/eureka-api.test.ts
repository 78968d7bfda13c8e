/**
 * The Eureka API over plain HTTP: XML both ways, the delta, status overrides, the access check
 * (Basic and Bearer, scopes, audit, 404 for what the caller may not read), bad input that changes
 * nothing, and the one registry seen from REST, xDS and DNS.
 */
import test from 'ava';
import { XMLParser } from 'fast-xml-parser';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '../../src/xds/type-urls.js';
import { dig } from '../helpers/dig.js';
import { startAuthHub, type AuthHub } from '../helpers/auth-hub.js';
import { AdsTestStream } from '../helpers/xds-ads-client.js';

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', textNodeName: '$', parseTagValue: false });

async function eureka(hub: AuthHub, method: string, path: string, auth: string | undefined, body?: { type: string; text: string }, accept = 'application/json') {
  const headers: Record<string, string> = { accept };
  if (auth !== undefined) headers.authorization = auth;
  if (body !== undefined) headers['content-type'] = body.type;
  const res = await fetch(`${hub.addresses.http}/eureka/v2${path}`, { method, headers, ...(body !== undefined ? { body: body.text } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: res.headers.get('content-type')?.includes('json') === true && text !== '' ? JSON.parse(text) : undefined };
}

const bearer = (token: string) => `Bearer ${token}`;
const basic = (user: string, token: string) => `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;

const instanceJson = (id: string, app = 'ORDER-SERVICE', extra: Record<string, unknown> = {}) => ({
  type: 'application/json',
  text: JSON.stringify({ instance: { instanceId: id, app, hostName: `${id}.example.test`, ipAddr: '10.1.0.1', port: { $: 8080, '@enabled': 'true' }, vipAddress: 'orders', status: 'UP', dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' }, ...extra } }),
});

test('XML in and out: a registration sent as XML is listed as XML with attributes', async (t) => {
  const hub = await startAuthHub();
  t.teardown(() => hub.close());
  const body = `<instance><instanceId>pay-1</instanceId><hostName>pay-1.example.test</hostName><app>PAYMENTS</app><ipAddr>10.2.0.1</ipAddr><status>UP</status><port enabled="true">9090</port><securePort enabled="false">443</securePort><vipAddress>payments</vipAddress><leaseInfo><durationInSecs>60</durationInSecs><renewalIntervalInSecs>20</renewalIntervalInSecs></leaseInfo><metadata><zone>a</zone></metadata><dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"><name>MyOwn</name></dataCenterInfo></instance>`;
  const reg = await eureka(hub, 'POST', '/apps/PAYMENTS', basic('eureka', hub.admin), { type: 'application/xml', text: body });
  t.is(reg.status, 204);
  const listed = await eureka(hub, 'GET', '/apps', bearer(hub.admin), undefined, 'application/xml');
  t.is(listed.status, 200);
  t.true(listed.headers.get('content-type')?.startsWith('application/xml'));
  const doc = xml.parse(listed.text);
  const app = doc.applications.application;
  t.is(app.name, 'PAYMENTS');
  t.like(app.instance, { instanceId: 'pay-1', status: 'UP', vipAddress: 'payments', hostName: 'pay-1.example.test' });
  t.deepEqual(app.instance.port, { $: '9090', '@enabled': 'true' });
  t.is(app.instance.leaseInfo.durationInSecs, '60');
  t.is(app.instance.leaseInfo.renewalIntervalInSecs, '20');
  t.is(app.instance.metadata.zone, 'a');
  t.is(app.instance.dataCenterInfo['@class'], 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo');
  const rest = await hub.rest('GET', '/api/v1/services/pay-1', hub.admin);
  t.like(rest.json.data, { service: 'payments', namespace: 'default', address: '10.2.0.1', port: 9090, lease: { ttl_ms: 60_000 } });
  t.regex((await hub.rest('GET', '/metrics', hub.admin)).text, /^outrigger_hub_registrations_total\{api="eureka"\} 1$/m, 'counted as a registration');

  const bad = await eureka(hub, 'POST', '/apps/PAYMENTS', bearer(hub.admin), { type: 'application/xml', text: '<instance><hostName>x</instance>' });
  t.is(bad.status, 400);
  t.is(bad.json.error.field, 'body');
});

test('renew, status override, delta, vips, cancel', async (t) => {
  const hub = await startAuthHub();
  t.teardown(() => hub.close());
  const auth = bearer(hub.admin);
  t.is((await eureka(hub, 'POST', '/apps/ORDER-SERVICE', auth, instanceJson('o-1'))).status, 204);
  t.is((await eureka(hub, 'POST', '/apps/order-service', auth, instanceJson('o-2'))).status, 204, 'app names are case-insensitive');
  t.is((await eureka(hub, 'PUT', '/apps/ORDER-SERVICE/o-1', auth)).status, 200);
  t.is((await eureka(hub, 'PUT', '/apps/ORDER-SERVICE/nope', auth)).status, 404, 'an unknown instance: the client registers again');

  t.is((await eureka(hub, 'PUT', '/apps/ORDER-SERVICE/o-2/status?value=OUT_OF_SERVICE', auth)).status, 200);
  // Registering again keeps the override, as Eureka does.
  await eureka(hub, 'POST', '/apps/ORDER-SERVICE', auth, instanceJson('o-2'));
  const app = await eureka(hub, 'GET', '/apps/ORDER-SERVICE', auth);
  t.deepEqual(app.json.application.instance.map((i: any) => [i.instanceId, i.status]), [['o-1', 'UP'], ['o-2', 'OUT_OF_SERVICE']]);
  t.is((await eureka(hub, 'DELETE', '/apps/ORDER-SERVICE/o-2/status', auth)).status, 200);
  t.is((await eureka(hub, 'GET', '/instances/o-2', auth)).json.instance.status, 'UP');

  const vips = await eureka(hub, 'GET', '/vips/orders', auth);
  t.is(vips.json.applications.application[0].instance.length, 2);
  t.is((await eureka(hub, 'GET', '/vips/other', auth)).json.applications.application.length, 0);

  t.is((await eureka(hub, 'DELETE', '/apps/ORDER-SERVICE/o-1', auth)).status, 200);
  const delta = await eureka(hub, 'GET', '/apps/delta', auth);
  const changed = delta.json.applications.application[0].instance.map((i: any) => [i.instanceId, i.actionType]);
  t.deepEqual(changed, [['o-2', 'MODIFIED'], ['o-1', 'DELETED']]);
  t.is(delta.json.applications.apps__hashcode, 'UP_1_');
});

test('bad input is a 400 naming the field, and changes nothing', async (t) => {
  const hub = await startAuthHub();
  t.teardown(() => hub.close());
  const auth = bearer(hub.admin);
  const cases: Array<[string, { type: string; text: string }, string]> = [
    ['/apps/ORDER_SERVICE', instanceJson('x-1', 'ORDER_SERVICE'), 'app'],
    ['/apps/ORDER-SERVICE', instanceJson('x-1', 'BILLING'), 'instance.app'],
    ['/apps/ORDER-SERVICE', instanceJson('x-1', 'ORDER-SERVICE', { hostName: undefined }), 'instance.hostName'],
    ['/apps/ORDER-SERVICE', instanceJson('x-1', 'ORDER-SERVICE', { status: 'SLEEPING' }), 'instance.status'],
    ['/apps/ORDER-SERVICE', instanceJson('x-1', 'ORDER-SERVICE', { port: { $: 70000 } }), 'instance.port.$'],
    ['/apps/ORDER-SERVICE', instanceJson('x-1', 'ORDER-SERVICE', { leaseInfo: { durationInSecs: 0 } }), 'instance.leaseInfo.durationInSecs'],
    ['/apps/ORDER-SERVICE', instanceJson('x-1', 'ORDER-SERVICE', { dataCenterInfo: { name: 'Amazon' } }), 'instance.dataCenterInfo.name'],
    ['/apps/ORDER-SERVICE', instanceJson('x 1'), 'instance.instanceId'],
  ];
  for (const [path, body, field] of cases) {
    const res = await eureka(hub, 'POST', path, auth, body);
    t.is(res.status, 400, field);
    t.is(res.json.error.field, field);
    t.true(res.json.error.message.startsWith(`${field}: `), res.json.error.message);
  }
  const status = await eureka(hub, 'PUT', '/apps/ORDER-SERVICE/x-1/status?value=SLEEPING', auth);
  t.is(status.status, 400);
  t.is(status.json.error.field, 'value');
  t.is(hub.hub.registry.instanceCount, 0);
  t.is((await eureka(hub, 'GET', '/nothing', auth)).status, 404);
});

test('a path segment that is not valid percent-encoding is a 400 in Eureka\'s shape, after the access check, and changes nothing', async (t) => {
  const hub = await startAuthHub();
  t.teardown(() => hub.close());
  const auth = bearer(hub.admin);
  t.is((await eureka(hub, 'POST', '/apps/ORDER-SERVICE', auth, instanceJson('order-1'))).status, 204);
  const before = hub.hub.registry.getInstance('order-1');
  // Found by the Eureka fuzzer (seed 847023537): `PUT /apps/%/echo-1` was a bare 500 and an error in the log.
  for (const path of ['/apps/%/order-1', '/apps/ORDER-SERVICE/%zz', '/apps/ORDER-SERVICE/order-1%E2%82/status?value=DOWN']) {
    const res = await eureka(hub, path.endsWith('DOWN') ? 'PUT' : 'DELETE', path, auth);
    t.is(res.status, 400, path);
    t.is(res.json.error.code, 'invalid_argument', path);
  }
  const asXml = await eureka(hub, 'GET', '/apps/ORDER-SERVICE/%zz', auth, undefined, 'application/xml');
  t.is(asXml.status, 400);
  t.is(xml.parse(asXml.text).error.code, 'invalid_argument');
  t.is((await eureka(hub, 'GET', '/apps/%/order-1', undefined)).status, 401, 'the caller is checked first');
  t.deepEqual(hub.hub.registry.getInstance('order-1'), before);
  t.deepEqual(hub.logs.filter((l) => l.level === 'error'), []);
});

test('one access check: credentials, scopes, unreadable apps not found, writes audited', async (t) => {
  const hub = await startAuthHub();
  t.teardown(() => hub.close());
  await eureka(hub, 'POST', '/apps/ORDER-SERVICE', bearer(hub.admin), instanceJson('o-1'));
  await hub.rest('POST', '/api/v1/services', hub.admin, { id: 's-1', service: 'secret', namespace: 'default', address: '10.0.0.5', port: 80 });

  const none = await eureka(hub, 'GET', '/apps', undefined);
  t.is(none.status, 401);
  t.regex(none.headers.get('www-authenticate') ?? '', /Basic/);
  t.is((await eureka(hub, 'GET', '/apps', basic('eureka', 'not-a-token'))).status, 401);
  t.is((await eureka(hub, 'GET', '/apps', 'Basic !!!')).status, 401);

  const orders = await hub.token('operator', ['default/order-service']);
  const listed = await eureka(hub, 'GET', '/apps', basic('anyone', orders));
  t.deepEqual(listed.json.applications.application.map((a: any) => a.name), ['ORDER-SERVICE'], 'SECRET is left out');
  t.is((await eureka(hub, 'GET', '/apps/SECRET', basic('anyone', orders))).status, 404, 'not readable: not found');
  t.is((await eureka(hub, 'GET', '/instances/s-1', basic('anyone', orders))).status, 404);
  t.is((await eureka(hub, 'POST', '/apps/ORDER-SERVICE', basic('anyone', orders), instanceJson('o-2'))).status, 204);

  const viewer = await hub.token('viewer', ['default']);
  const refused = await eureka(hub, 'POST', '/apps/ORDER-SERVICE', bearer(viewer), instanceJson('o-3'));
  t.is(refused.status, 403);
  t.is(refused.json.error.code, 'permission_denied');
  t.is(hub.hub.registry.getInstance('o-3'), undefined);
  t.truthy(hub.logs.find((l) => l.msg === 'audit' && l.api === 'eureka' && l.result === 'ok' && l.action === 'instance:write'));
  t.truthy(hub.logs.find((l) => l.msg === 'audit' && l.api === 'eureka' && l.result === 'permission_denied'));
  t.false(hub.logText().includes(orders), 'the token is never logged');
});

test('one registry: Eureka instances over REST, xDS and DNS, and REST instances over Eureka', async (t) => {
  const hub = await startAuthHub({ eureka: { namespace: 'shop.local' }, auth: { anonymous: { enabled: true, scopes: ['shop.local'] } } });
  t.teardown(() => hub.close());
  t.is((await eureka(hub, 'POST', '/apps/CART', bearer(hub.admin), instanceJson('cart-1', 'CART', { ipAddr: '10.3.0.1' }))).status, 204);
  await hub.rest('POST', '/api/v1/services', hub.admin, { id: 'bill-1', service: 'billing', namespace: 'shop.local', address: '10.3.0.2', port: 7070 });

  const billing = await eureka(hub, 'GET', '/apps/BILLING', bearer(hub.admin));
  t.like(billing.json.application.instance[0], { instanceId: 'bill-1', app: 'BILLING', hostName: '10.3.0.2', ipAddr: '10.3.0.2', status: 'UP', vipAddress: 'billing', port: { $: 7070 } });

  const dns = await dig(hub.addresses.dnsPort!, 'cart.shop.local', 'A');
  t.deepEqual(dns.answer.map((r) => r.data[0]), ['10.3.0.1']);

  const s = AdsTestStream.open(hub.addresses.grpc, 'x', hub.admin);
  t.teardown(() => s.closeClient());
  s.request(CLUSTER_TYPE_URL, []);
  const cds = await s.next();
  t.true(cds.names.includes('cart.shop.local'));
  s.ack(cds, []);
  s.request(ENDPOINT_TYPE_URL, ['cart.shop.local']);
  const eds = await s.next();
  t.true(JSON.stringify(eds.resources).includes('10.3.0.1'));
});

test('Eureka writes count against the identity\'s write allowance', async (t) => {
  const hub = await startAuthHub({ limits: { writes_per_second: 1, write_burst: 1 } });
  t.teardown(() => hub.close());
  const token = await hub.token('operator', ['default']);
  t.is((await eureka(hub, 'POST', '/apps/ORDER-SERVICE', bearer(token), instanceJson('o-1'))).status, 204);
  const limited = await eureka(hub, 'POST', '/apps/ORDER-SERVICE', bearer(token), instanceJson('o-2'));
  t.is(limited.status, 429);
  t.truthy(limited.headers.get('retry-after'));
  t.is(hub.hub.registry.getInstance('o-2'), undefined);
  t.is((await eureka(hub, 'GET', '/apps', bearer(token))).status, 200, 'reads are not limited');
});
