/**
 * The hub's limits against one caller taking it over: each answers with a clear error and counts
 * in outrigger_hub_limit_refusals_total. Real listeners on loopback.
 */
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { callUnary } from '../../src/wire/registry-client.js';
import { startAuthHub, type AuthHub } from '../helpers/auth-hub.js';
import { registrySnapshot } from '../helpers/http-registry-snapshot.js';
import { Changes } from '../helpers/wait.js';
import { metricValue } from '../helpers/xds-hub.js';

async function hubWith(t: { teardown(fn: () => Promise<void>): void }, config: Record<string, unknown>): Promise<AuthHub> {
  const h = await startAuthHub(config);
  t.teardown(() => h.close());
  return h;
}

const inst = (id: string, service = 'api', namespace = 'a.local') => ({ id, name: service, namespace, address: '10.0.0.1', port: 8080, ttl: 0 });

test('writes are limited per identity: 429 with Retry-After over REST, RESOURCE_EXHAUSTED over gRPC; another identity is not held back', async (t) => {
  const h = await hubWith(t, { limits: { writes_per_second: 0.5, write_burst: 2 } });
  const one = await h.token('operator', ['a.local']);
  const two = await h.token('operator', ['a.local']);
  t.is((await h.rest('POST', '/api/v1/services', one, inst('a-1'))).status, 201);
  t.is((await h.rest('POST', '/api/v1/services', one, inst('a-2'))).status, 201);
  const before = registrySnapshot(h.hub.registry);
  const limited = await h.rest('POST', '/api/v1/services', one, inst('a-3'));
  t.is(limited.status, 429);
  t.is(limited.json.error.code, 'rate_limited');
  t.regex(limited.json.error.message, /too many writes by tok-[0-9a-f]+; retry in 2s \(limits\.writes_per_second\)/);
  t.is(limited.headers.get('retry-after'), '2');
  const grpcLimited = await callUnary(h.client(one), 'Register', { id: 'a-4', service: 'api', namespace: 'a.local', address: '10.0.0.1', port: 8080 }).catch((e: grpc.ServiceError) => e);
  t.is((grpcLimited as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED);
  t.deepEqual(registrySnapshot(h.hub.registry), before, 'a limited write changes nothing');
  t.is((await h.rest('GET', '/api/v1/services', one)).status, 200, 'reads are not limited');
  t.is((await h.rest('POST', '/api/v1/services', two, inst('a-5'))).status, 201, 'another identity has its own allowance');
  t.is(await metricValue(h.hub.metrics.limitRefusals, { limit: 'write_rate' }), 2);
});

test('at most N instances per service and per namespace; the refusal names the limit and changes nothing', async (t) => {
  const h = await hubWith(t, { limits: { max_instances_per_service: 2, max_instances_per_namespace: 3 } });
  t.is((await h.rest('POST', '/api/v1/services', h.admin, inst('a-1'))).status, 201);
  t.is((await h.rest('POST', '/api/v1/services', h.admin, inst('a-2'))).status, 201);
  const before = registrySnapshot(h.hub.registry);
  const third = await h.rest('POST', '/api/v1/services', h.admin, inst('a-3'));
  t.is(third.status, 429);
  t.is(third.json.error.code, 'resource_exhausted');
  t.is(third.json.error.message, 'service api.a.local holds its maximum of 2 instances (limits.max_instances_per_service)');
  t.deepEqual(registrySnapshot(h.hub.registry), before);
  t.is((await h.rest('POST', '/api/v1/services', h.admin, inst('a-1'))).status, 200, 'registering an instance again is not another one');
  t.is((await h.rest('POST', '/api/v1/services', h.admin, inst('w-1', 'web'))).status, 201);
  const ns = await h.rest('POST', '/api/v1/services', h.admin, inst('w-2', 'web'));
  t.is(ns.status, 429);
  t.is(ns.json.error.message, 'namespace a.local holds its maximum of 3 instances (limits.max_instances_per_namespace)');
  t.is((await h.rest('DELETE', '/api/v1/services/a-2', h.admin)).status, 200);
  t.is((await h.rest('POST', '/api/v1/services', h.admin, inst('w-2', 'web'))).status, 201, 'a freed place can be taken');
  t.is(await metricValue(h.hub.metrics.limitRefusals, { limit: 'instances_per_service' }), 1);
  t.is(await metricValue(h.hub.metrics.limitRefusals, { limit: 'instances_per_namespace' }), 1);
});

test('Session and Watch streams count against the identity too', async (t) => {
  const h = await hubWith(t, { limits: { max_streams_per_identity: 1 } });
  const token = await h.token('viewer', ['*']);
  const c = h.client(token);
  const first = c.Watch({});
  const firstData = new Changes();
  let answered = false;
  first.on('data', () => {
    answered = true;
    firstData.changed();
  });
  first.on('error', () => {});
  await firstData.until('the first watch to answer', () => answered);
  const second = c.Session();
  const status = await new Promise<grpc.StatusObject>((resolve) => {
    second.on('error', () => {});
    second.on('status', resolve);
  });
  t.is(status.code, grpc.status.RESOURCE_EXHAUSTED);
  t.regex(status.details, /limits\.max_streams_per_identity/);
  first.cancel();
  t.is(await metricValue(h.hub.metrics.limitRefusals, { limit: 'streams_per_identity' }), 1);
});

test('slow clients: 500 half-open connections do not stop the hub answering, and are cut off after limits.http_headers_timeout', async (t) => {
  const h = await hubWith(t, { limits: { http_headers_timeout: '1s', http_request_timeout: '2s' } });
  const url = new URL(h.addresses.http);
  const sockets: net.Socket[] = [];
  const closed = new Changes();
  let closedCount = 0;
  let timeouts = 0;
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  await Promise.all(
    Array.from({ length: 500 }, () =>
      new Promise<void>((resolve, reject) => {
        const s = net.connect(Number(url.port), url.hostname, () => {
          // Headers begun and never finished: the slow-loris.
          s.write('GET /api/v1/services HTTP/1.1\r\nHost: hub\r\nX-Slow: ');
          resolve();
        });
        s.on('error', () => {});
        // Read what the hub says, to see it close the connection.
        s.on('data', (d: Buffer) => {
          if (d.toString('latin1').startsWith('HTTP/1.1 408')) timeouts++;
        });
        s.on('close', () => {
          closedCount++;
          closed.changed();
        });
        s.once('error', reject);
        sockets.push(s);
      }),
    ),
  );
  const started = performance.now();
  const health = await fetch(`${h.addresses.http}/health`);
  t.is(health.status, 200, 'the hub still answers');
  t.is((await h.rest('GET', '/api/v1/auth/whoami', h.admin)).status, 200);
  t.log(`/health and whoami answered in ${Math.round(performance.now() - started)} ms beside 500 half-open connections`);
  await closed.until(() => `the hub to cut the slow connections off (${closedCount} of 500 closed)`, () => closedCount === 500, 20_000);
  t.is(timeouts, 500, 'each was told 408 Request Timeout');
});

test('gRPC messages over limits.max_grpc_message_bytes are refused; the hub advertises limits.max_streams_per_connection', async (t) => {
  const h = await hubWith(t, { limits: { max_grpc_message_bytes: 16_384, max_streams_per_connection: 7 } });
  const big = { id: 'big', service: 'api', namespace: 'a.local', address: '10.0.0.1', port: 8080, metadata: { blob: 'x'.repeat(20_000) } };
  const err = await callUnary(h.client(h.admin), 'Register', big).catch((e: grpc.ServiceError) => e);
  t.is((err as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED);
  t.is(h.hub.registry.getInstance('big'), undefined);

  const session = http2.connect(`http://${h.addresses.grpc}`);
  t.teardown(() => session.close());
  const settings = await once(session, 'remoteSettings');
  t.is((settings[0] as http2.Settings).maxConcurrentStreams, 7);
});
