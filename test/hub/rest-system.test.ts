import test from 'ava';
import { call, startRestServer } from '../helpers/http-rest-server.js';

async function setup(t: { teardown(fn: () => Promise<void>): void }) {
  const server = await startRestServer();
  t.teardown(() => server.close());
  return server;
}

test('/health answers while the process serves; /ready follows isReady()', async (t) => {
  const server = await setup(t);
  server.ready.value = false;
  const health = await call(server, 'GET', '/health');
  t.is(health.status, 200);
  t.deepEqual(health.json, { status: 'ok' });
  t.is((await call(server, 'GET', '/ready')).status, 503);
  t.is((await call(server, 'GET', '/health?ready=true')).status, 503, "AI-CORE's readiness probe");
  server.ready.value = true;
  const ready = await call(server, 'GET', '/ready');
  t.is(ready.status, 200);
  t.deepEqual(ready.json, { status: 'ready' });
  t.is((await call(server, 'GET', '/health?ready=true')).status, 200);
});

test('/metrics serves the hub families in the Prometheus text format', async (t) => {
  const server = await setup(t);
  await call(server, 'POST', '/api/v1/services', { id: 'a', name: 'echo', namespace: 'demo.local', address: '10.0.0.1', port: 80 });
  await call(server, 'GET', '/api/v1/services/nope');
  await call(server, 'GET', '/api/v1/services/a');
  await call(server, 'GET', '/no/such/route/12345');
  const r = await call(server, 'GET', '/metrics');
  t.is(r.status, 200);
  t.is(r.headers.get('content-type'), server.metrics.register.contentType);
  t.regex(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  for (const family of [
    'outrigger_hub_instances',
    'outrigger_hub_registry_version',
    'outrigger_hub_lease_expiries_total',
    'outrigger_hub_self_preservation',
    'outrigger_hub_subscribers',
    'outrigger_hub_registrations_total',
    'outrigger_hub_api_requests_total',
  ]) {
    t.regex(r.text, new RegExp(`^# TYPE ${family} `, 'm'), family);
  }
  t.regex(r.text, /^outrigger_hub_instances\{namespace="demo.local",service="echo",health="HEALTHY"\} 1$/m);
  t.regex(r.text, /^outrigger_hub_registrations_total\{api="rest"\} 1$/m);
  // Requests are counted by route pattern, never by raw path.
  t.regex(r.text, /^outrigger_hub_api_requests_total\{api="rest",route="\/api\/v1\/services\/\{id\}",code="404"\} 1$/m);
  t.regex(r.text, /^outrigger_hub_api_requests_total\{api="rest",route="\/api\/v1\/services\/\{id\}",code="200"\} 1$/m);
  t.regex(r.text, /^outrigger_hub_api_requests_total\{api="rest",route="\/api\/v1\/services",code="201"\} 1$/m);
  t.regex(r.text, /^outrigger_hub_api_requests_total\{api="rest",route="unmatched",code="404"\} 1$/m);
  t.notRegex(r.text, /12345|route="\/api\/v1\/services\/a"/);
});

test('every request is counted, errors included', async (t) => {
  const server = await setup(t);
  const counted = async () => {
    const metric = await server.metrics.requests.get();
    return metric.values.reduce((sum, v) => sum + v.value, 0);
  };
  await call(server, 'POST', '/api/v1/services', '{', { 'content-type': 'application/json' });
  await call(server, 'PATCH', '/api/v1/services');
  await call(server, 'GET', '/api/v1/discover?bogus=1');
  await call(server, 'GET', '/health');
  t.is(await counted(), 4);
  const codes = (await server.metrics.requests.get()).values.map((v) => `${v.labels.route} ${v.labels.code}`).sort();
  t.deepEqual(codes, ['/api/v1/discover 400', '/api/v1/services 400', '/api/v1/services 405', '/health 200']);
});
