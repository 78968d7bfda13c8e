/**
 * The same rules over gRPC: unary calls, the Session stream a sidecar holds, and Watch, on a
 * whole hub with auth on.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import YAML from 'yaml';
import type { SessionRequest, SessionResponse } from '../../src/wire/messages.js';
import { callUnary, errorDetails } from '../../src/wire/registry-client.js';
import { startAuthHub, type AuthHub } from '../helpers/auth-hub.js';
import { WAIT_MS } from '../helpers/grpc-hub.js';
import { WatchRecorder } from '../helpers/grpc-watch.js';
import { AdsTestStream } from '../helpers/xds-ads-client.js';
import { CLUSTER_TYPE_URL } from '../../src/xds/type-urls.js';
import { registrySnapshot } from '../helpers/http-registry-snapshot.js';
import { Changes } from '../helpers/wait.js';

const reg = (id: string, service: string, namespace: string, extra: Record<string, unknown> = {}) => ({ id, service, namespace, address: '10.0.0.1', port: 8080, ...extra });

async function hubWith(t: { teardown(fn: () => Promise<void>): void }, config: Record<string, unknown> = {}): Promise<AuthHub> {
  const h = await startAuthHub(config);
  t.teardown(() => h.close());
  return h;
}

async function refused(t: { is(a: unknown, b: unknown, m?: string): void; regex(s: string, r: RegExp): void }, p: Promise<unknown>, code: grpc.status, message?: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  t.is(err?.code, code, `expected ${grpc.status[code]}, got ${err === undefined ? 'success' : `${grpc.status[err.code]}: ${err.details}`}`);
  if (message !== undefined && err !== undefined) t.regex(err.details, message);
}

test('unary calls: no token is UNAUTHENTICATED, a scoped token is PERMISSION_DENIED outside its scope, and nothing changes', async (t) => {
  const h = await hubWith(t);
  const admin = h.client(h.admin);
  await callUnary(admin, 'Register', reg('b-1', 'api', 'b.local'));
  const before = registrySnapshot(h.hub.registry);
  await refused(t, callUnary(h.client(undefined), 'Discover', {}), grpc.status.UNAUTHENTICATED, /no credentials/);
  const opA = h.client(await h.token('operator', ['a.local']));
  await refused(t, callUnary(opA, 'Register', reg('a-2', 'api', 'b.local')), grpc.status.PERMISSION_DENIED, /instance:write on api\.b\.local is not allowed for token \S+ \(operator; scopes a\.local\)/);
  await refused(t, callUnary(opA, 'Deregister', { id: 'b-1' }), grpc.status.PERMISSION_DENIED);
  await refused(t, callUnary(opA, 'Heartbeat', { id: 'b-1' }), grpc.status.PERMISSION_DENIED);
  await refused(t, callUnary(opA, 'ReportHealth', { id: 'b-1', health: 'DRAINING' }), grpc.status.PERMISSION_DENIED);
  await refused(t, callUnary(opA, 'PutService', { namespace: 'b.local', name: 'api', config: {} }), grpc.status.PERMISSION_DENIED);
  await refused(t, callUnary(opA, 'DeleteService', { namespace: 'b.local', name: 'api' }), grpc.status.PERMISSION_DENIED);
  await refused(t, callUnary(opA, 'CreateNamespace', { name: 'a.local' }), grpc.status.PERMISSION_DENIED, /namespace:write on namespace a\.local/);
  await refused(t, callUnary(opA, 'DeleteNamespace', { name: 'b.local' }), grpc.status.PERMISSION_DENIED);
  await refused(t, callUnary(opA, 'GetService', { namespace: 'b.local', name: 'api' }), grpc.status.PERMISSION_DENIED);
  const err = await callUnary(opA, 'Deregister', { id: 'b-1' }).catch((e: grpc.ServiceError) => e);
  t.is(errorDetails(err as grpc.ServiceError).code, 'permission_denied', 'the stable code travels in the trailers');
  t.deepEqual(registrySnapshot(h.hub.registry), before);
  t.deepEqual((await callUnary(opA, 'Discover', { any_health: true })).instances ?? [], [], 'a wide discover sees nothing out of scope');
  t.deepEqual(((await callUnary(opA, 'ListNamespaces', {})).namespaces ?? []).map((n) => n.name), []);
  const inA = await callUnary(opA, 'Register', reg('a-1', 'api', 'a.local'));
  t.is(inA.id, 'a-1');
});

test('registering a static or kubernetes instance is managing the service: a service token may not', async (t) => {
  const h = await hubWith(t);
  const web = h.client(await h.token('service', ['shop.local/web']));
  await refused(t, callUnary(web, 'Register', reg('web-s', 'web', 'shop.local', { source: 'SOURCE_STATIC' })), grpc.status.PERMISSION_DENIED, /service:write on web\.shop\.local/);
  const op = h.client(await h.token('operator', ['shop.local']));
  t.is((await callUnary(op, 'Register', reg('db-1', 'db', 'shop.local', { source: 'SOURCE_STATIC' }))).source, 'SOURCE_STATIC');
});

/** A sidecar's Session stream, answers matched by nonce. */
function session(h: AuthHub, token: string | undefined) {
  const call = h.client(token).Session();
  const answers: SessionResponse[] = [];
  const changes = new Changes();
  let status: grpc.StatusObject | undefined;
  call.on('data', (a: SessionResponse) => {
    answers.push(a);
    changes.changed();
  });
  call.on('error', () => {});
  call.on('status', (s: grpc.StatusObject) => {
    status = s;
    changes.end(`the session ended: ${s.details}`);
  });
  let nonce = 0;
  return {
    call,
    send(req: Omit<SessionRequest, 'nonce'>): Promise<SessionResponse> {
      const n = ++nonce;
      call.write({ ...req, nonce: n });
      return changes.eventually(`answer ${n}`, () => answers.find((a) => a.nonce === n), WAIT_MS);
    },
    status: () => status,
    changes,
  };
}

test('Session: a service token registers only its own service; a refusal is answered in the stream, which stays open', async (t) => {
  const h = await hubWith(t);
  await callUnary(h.client(h.admin), 'Register', reg('payments-1', 'payments', 'shop.local'));
  const s = session(h, await h.token('service', ['shop.local/web']));
  t.teardown(() => s.call.cancel());
  const wrong = await s.send({ register: reg('web-1', 'payments', 'shop.local') });
  t.is(wrong.error?.code, 'permission_denied');
  t.is(wrong.error?.grpc_code, grpc.status.PERMISSION_DENIED);
  t.regex(wrong.error?.message ?? '', /instance:write on payments\.shop\.local/);
  t.is((await s.send({ deregister: { id: 'payments-1' } })).error?.code, 'permission_denied');
  t.is((await s.send({ drain: { id: 'payments-1' } })).error?.code, 'permission_denied');
  const ok = await s.send({ register: reg('web-1', 'web', 'shop.local') });
  t.is(ok.instance?.id, 'web-1', 'the same stream goes on');
  t.true(h.hub.registry.getInstance('web-1')!.lease.held);
  t.is((await s.send({ heartbeat: { id: 'web-1' } })).instance?.id, 'web-1');
  t.is(h.hub.registry.getInstance('payments-1')!.health, 'HEALTHY');
});

test('Session and Watch without credentials end UNAUTHENTICATED before anything is read', async (t) => {
  const h = await hubWith(t);
  const s = session(h, undefined);
  s.call.write({ nonce: 1, register: reg('x-1', 'x', 'a.local') });
  await s.changes.until('the stream to end', () => s.status() !== undefined, WAIT_MS).catch(() => undefined);
  t.is(s.status()?.code, grpc.status.UNAUTHENTICATED);
  t.is(h.hub.registry.getInstance('x-1'), undefined);
  const w = new WatchRecorder(h.client(undefined).Watch({}));
  t.is((await w.ends())?.code, grpc.status.UNAUTHENTICATED);
});

test('Watch: a viewer sees only what it may read; a watch naming a namespace out of scope is refused', async (t) => {
  const h = await hubWith(t);
  const admin = h.client(h.admin);
  await callUnary(admin, 'Register', reg('a-1', 'api', 'a.local'));
  await callUnary(admin, 'Register', reg('b-1', 'api', 'b.local'));
  const viewer = h.client(await h.token('viewer', ['a.local']));
  const w = new WatchRecorder(viewer.Watch({}));
  t.teardown(() => w.call.cancel());
  await w.until('the snapshot', (r) => r.snapshotComplete);
  t.deepEqual([...w.state.keys()], ['a-1']);
  await callUnary(admin, 'Register', reg('b-2', 'api', 'b.local'));
  await callUnary(admin, 'Register', reg('a-2', 'api', 'a.local'));
  await w.until('a-2', (r) => r.state.has('a-2'));
  t.deepEqual([...w.state.keys()].sort(), ['a-1', 'a-2'], 'b-2 never reached it');
  const out = new WatchRecorder(viewer.Watch({ namespace: 'b.local' }));
  const err = await out.ends();
  t.is(err?.code, grpc.status.PERMISSION_DENIED);
  t.regex(err?.details ?? '', /namespace:read on namespace b\.local/);
});

test('a revoked token is refused on its next call, and the Session, Watch and xDS streams it opened are ended', async (t) => {
  const h = await hubWith(t);
  const secret = await h.token('service', ['shop.local/web']);
  const c = h.client(secret);
  const s = session(h, secret);
  t.is((await s.send({ register: reg('web-1', 'web', 'shop.local') })).instance?.id, 'web-1');
  const w = new WatchRecorder(c.Watch({}));
  await w.until('the snapshot', (r) => r.snapshotComplete);
  const ads = AdsTestStream.open(h.addresses.grpc, 'web-1', secret);
  t.teardown(() => ads.closeClient());
  ads.request(CLUSTER_TYPE_URL, []);
  await ads.next();

  const id = h.hub.tokens!.list().find((r) => r.role === 'service')!.id;
  t.is((await h.rest('DELETE', `/api/v1/auth/tokens/${id}`, h.admin)).status, 200);
  await refused(t, callUnary(c, 'ListNamespaces', {}), grpc.status.UNAUTHENTICATED, /not one the hub knows/);
  const watchEnd = await w.ends();
  t.is(watchEnd?.code, grpc.status.UNAUTHENTICATED);
  t.is(watchEnd?.details, `token ${id} was revoked`);
  await s.changes.until('the session to end', () => s.status() !== undefined, WAIT_MS).catch(() => undefined);
  t.is(s.status()?.code, grpc.status.UNAUTHENTICATED);
  const adsEnd = await ads.status();
  t.is(adsEnd.code, grpc.status.UNAUTHENTICATED);
  t.false(h.hub.registry.getInstance('web-1')!.lease.held, 'the lease is released: its TTL now runs');
});

test('a stream ends when its token changes under the same id (a new secret, narrower reads, an earlier expiry); a token added beside it leaves it open', async (t) => {
  const h = await hubWith(t, { auth: { reload_interval: '100ms' } });
  const tokensFile = path.join(h.dataDir, 'tokens.yaml');
  const edit = (id: string, change: (entry: Record<string, unknown>) => void): void => {
    const doc = YAML.parse(readFileSync(tokensFile, 'utf8')) as { tokens: Array<Record<string, unknown>> };
    change(doc.tokens.find((e) => e.id === id)!);
    writeFileSync(tokensFile, YAML.stringify(doc));
  };
  const open = async (reads?: string[]) => {
    const secret = await h.token('service', ['shop.local/web'], reads !== undefined ? { reads } : {});
    const id = h.hub.tokens!.lookup(secret)!.id;
    const w = new WatchRecorder(h.client(secret).Watch({}));
    t.teardown(() => w.call.cancel());
    await w.until('the snapshot', (r) => r.snapshotComplete);
    return { id, w };
  };
  const keeps = await open();
  const rekeyed = await open();
  const narrowed = await open(['*']);
  const shortened = await open();

  await h.token('viewer', ['shop.local']);
  edit(rekeyed.id, (e) => (e.sha256 = createHash('sha256').update('another secret').digest('hex')));
  edit(narrowed.id, (e) => (e.reads = ['shop.local/cart']));
  edit(shortened.id, (e) => (e.expires_at = new Date(Date.now() + 60_000).toISOString()));
  for (const { id, w } of [rekeyed, narrowed, shortened]) {
    const end = await w.ends();
    t.is(end?.code, grpc.status.UNAUTHENTICATED, id);
    t.is(end?.details, `token ${id} changed; open the stream again`);
  }
  t.false(keeps.w.ended, 'the stream of an unchanged token stays open');
});
