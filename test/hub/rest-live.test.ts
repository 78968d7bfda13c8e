/**
 * The live instance view: its JSON once, and as Server-Sent Events read by a real HTTP client
 * (node:http), fed by the registry's changes; heartbeats, the per-identity stream cap, and what
 * a caller may not read.
 */
import http from 'node:http';
import test from 'ava';
import { startAuthHub, type AuthHub } from '../helpers/auth-hub.js';
import { until } from '../helpers/wait.js';

interface SseReader {
  events: Array<{ event: string; id: string; data: any }>;
  comments: number;
  status: number;
  ended: boolean;
  close(): void;
}

/** Opens an event stream and parses its events as they arrive. */
function openStream(hub: AuthHub, query: string, token: string): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${hub.addresses.http}/api/v1/instances/live?${query}`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      const reader: SseReader = { events: [], comments: 0, status: res.statusCode ?? 0, ended: false, close: () => req.destroy() };
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (block.startsWith(':')) {
            reader.comments++;
            continue;
          }
          const fields = Object.fromEntries(block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
          reader.events.push({ event: fields.event ?? 'message', id: fields.id ?? '', data: fields.data !== undefined ? JSON.parse(fields.data) : undefined });
        }
      });
      res.on('close', () => (reader.ended = true));
      resolve(reader);
    });
    req.on('error', reject);
  });
}

const register = (hub: AuthHub, id: string, extra: Record<string, unknown> = {}) =>
  hub.rest('POST', '/api/v1/services', hub.admin, { id, service: 'web', namespace: 'shop', address: '10.0.0.1', port: 8080, ...extra });

test('the live view lists instances with status, health transition and a summary', async (t) => {
  const hub = await startAuthHub();
  t.teardown(() => hub.close());
  await register(hub, 'web-1');
  await register(hub, 'web-2', { health: 'DRAINING' });
  await register(hub, 'web-3', { health: 'UNKNOWN' });
  await hub.rest('POST', '/api/v1/services', hub.admin, { id: 'api-1', service: 'api', namespace: 'shop', address: '10.0.0.9', port: 9090 });
  const res = await hub.rest('GET', '/api/v1/instances/live?service_name=web&namespace=shop', hub.admin);
  t.is(res.status, 200);
  const view = res.json.data;
  t.deepEqual(view.instances.map((i: any) => [i.id, i.status, i.health.state]), [['web-1', 'ready', 'HEALTHY'], ['web-2', 'draining', 'DRAINING'], ['web-3', 'not-ready', 'UNKNOWN']]);
  t.deepEqual(view.instances[0].addresses, ['10.0.0.1']);
  t.deepEqual(view.instances[0].ports, [{ port: 8080, protocol: 'http' }]);
  t.true(!Number.isNaN(Date.parse(view.instances[0].health.lastTransition)));
  t.like(view.summary, { total: 3, ready: 1, notReady: 1, draining: 1 });
  t.true(!Number.isNaN(Date.parse(view.summary.lastUpdate)));

  // An instance from an EndpointSlice carries its Kubernetes metadata.
  hub.hub.registry.register({ id: 'pod-uid-1', service: 'web', namespace: 'shop', address: '10.0.0.4', port: 8080, source: 'kubernetes', ttl: 0, metadata: { 'k8s.namespace': 'prod', 'k8s.pod_name': 'web-abc', 'k8s.node_name': 'node-1' } });
  const k8s = (await hub.rest('GET', '/api/v1/instances/live?service_name=web.shop', hub.admin)).json.data;
  t.deepEqual(k8s.instances.find((i: any) => i.id === 'pod-uid-1').kubernetes, { namespace: 'prod', pod: 'web-abc', node: 'node-1' });
  t.is(k8s.instances.find((i: any) => i.id === 'web-1').kubernetes, undefined);

  const bad = await hub.rest('GET', '/api/v1/instances/live?watch=maybe', hub.admin);
  t.is(bad.status, 400);
  t.is(bad.json.error.field, 'watch');
});

test('watch=true streams the view on every change, with heartbeats', async (t) => {
  const hub = await startAuthHub({ rest: { live_heartbeat: '100ms' } });
  t.teardown(() => hub.close());
  await register(hub, 'web-1');
  const stream = await openStream(hub, 'namespace=shop&watch=true', hub.admin);
  t.teardown(() => stream.close());
  t.is(stream.status, 200);
  await until('the first event', () => stream.events.length >= 1);
  t.is(stream.events[0]!.event, 'instances');
  t.like(stream.events[0]!.data.summary, { total: 1, ready: 1 });

  await register(hub, 'web-2');
  await until('an event with two instances', () => stream.events.some((e) => e.data.summary.total === 2));
  await hub.rest('PUT', '/api/v1/services/web-1/health', hub.admin, { health: 'DRAINING' });
  await until('an event with web-1 draining', () => stream.events.some((e) => e.data.summary.draining === 1));
  const last = stream.events.at(-1)!;
  t.is(last.data.instances.find((i: any) => i.id === 'web-1').status, 'draining');
  t.true(Number(last.id) > Number(stream.events[0]!.id));
  await until('a heartbeat comment', () => stream.comments >= 1);

  // A change in another namespace sends nothing to this stream.
  const before = stream.events.length;
  await hub.rest('POST', '/api/v1/services', hub.admin, { id: 'x-1', service: 'x', namespace: 'other', address: '10.0.0.2', port: 80 });
  await register(hub, 'web-3');
  await until('the web-3 event', () => stream.events.some((e) => e.data.summary.total === 3));
  t.is(stream.events.length, before + 1);
});

test('live streams count against the per-identity stream cap, and show only what the caller may read', async (t) => {
  const hub = await startAuthHub({ limits: { max_streams_per_identity: 1 } });
  t.teardown(() => hub.close());
  await register(hub, 'web-1');
  const token = await hub.token('viewer', ['other']);
  const first = await openStream(hub, 'watch=true', token);
  t.teardown(() => first.close());
  await until('the first event', () => first.events.length >= 1);
  t.is(first.events[0]!.data.summary.total, 0);
  const second = await openStream(hub, 'watch=true', token);
  t.is(second.status, 429);
  first.close();
  await until('the closed stream released', async () => {
    const s = await openStream(hub, 'watch=true', token);
    s.close();
    return s.status === 200;
  });
  // Named, a namespace the caller may not read looks like one that does not exist: empty.
  const named = await hub.rest('GET', '/api/v1/instances/live?namespace=shop', token);
  t.is(named.status, 200);
  t.is(named.json.data.summary.total, 0);
});

test('a stream whose reader stops reading is ended once its buffer bound is reached', async (t) => {
  const hub = await startAuthHub({ rest: { live_buffer_bytes: 4096 } });
  t.teardown(() => hub.close());
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get(`${hub.addresses.http}/api/v1/instances/live?watch=true`, { headers: { authorization: `Bearer ${hub.admin}` } }, resolve).on('error', reject);
  });
  res.pause(); // reads nothing while the registry changes: the hub's side fills up
  // Each change sends the whole view again, so what is queued grows past the socket's own buffers.
  for (let i = 0; i < 300; i++) await register(hub, `web-${i}`);
  let closed = false;
  res.on('close', () => (closed = true));
  res.on('error', () => (closed = true));
  res.resume();
  // An open stream never ends by itself: ending proves the hub cut it off.
  await until('the stream ended by the hub', () => closed);
  t.true(closed);
});

test('a live stream ends, with an error event, when its token is revoked', async (t) => {
  const hub = await startAuthHub();
  t.teardown(() => hub.close());
  const created = await hub.rest('POST', '/api/v1/auth/tokens', hub.admin, { name: 'dashboard', role: 'viewer', scopes: ['shop'] });
  const { token, secret } = created.json.data as { token: { id: string }; secret: string };
  const stream = await openStream(hub, 'watch=true', secret);
  t.teardown(() => stream.close());
  await until('the first event', () => stream.events.length >= 1);
  t.is((await hub.rest('DELETE', `/api/v1/auth/tokens/${token.id}`, hub.admin)).status, 200);
  await until('the stream ended', () => stream.ended);
  const last = stream.events.at(-1)!;
  t.is(last.event, 'error');
  t.is(last.data.error.code, 'unauthenticated');
});
