/**
 * GET /api/v1/discover answers from encoded bytes cached per query, caller visibility and
 * registry revision: an ETag names each answer, If-None-Match gets 304, and any write (or lease
 * renewal, which the answer shows) makes the next answer fresh.
 */
import test from 'ava';
import { startAuthHub } from '../helpers/auth-hub.js';

const inst = (id: string, service: string, namespace: string, ttl = 0) => ({ id, name: service, namespace, address: '10.0.0.1', port: 8080, ttl });

test('discover: ETag and 304, a write or a renewal invalidates, and one caller\'s answer never reaches a caller who sees less', async (t) => {
  const h = await startAuthHub({}, { logLevel: 'warn' });
  t.teardown(() => h.close());
  const viewerA = await h.token('viewer', ['a.local']);
  t.is((await h.rest('POST', '/api/v1/services', h.admin, inst('a-1', 'api', 'a.local', 30_000))).status, 201);
  t.is((await h.rest('POST', '/api/v1/services', h.admin, inst('b-1', 'api', 'b.local'))).status, 201);
  const get = (token: string, ifNoneMatch?: string) =>
    fetch(`${h.addresses.http}/api/v1/discover?service_name=api`, { headers: { authorization: `Bearer ${token}`, ...(ifNoneMatch !== undefined ? { 'if-none-match': ifNoneMatch } : {}) } });
  const ids = async (res: Response) => ((await res.json()) as { data: { services: Array<{ id: string }> } }).data.services.map((i) => i.id);

  const first = await get(h.admin);
  t.is(first.status, 200);
  const etag = first.headers.get('etag')!;
  t.regex(etag, /^"[^"]+"$/);
  t.deepEqual(await ids(first), ['a-1', 'b-1']);
  const again = await get(h.admin);
  t.is(again.headers.get('etag'), etag, 'an unchanged registry keeps the tag');
  t.deepEqual(await ids(again), ['a-1', 'b-1']);

  const notModified = await get(h.admin, `W/${etag}, "other"`);
  t.is(notModified.status, 304);
  t.is(await notModified.text(), '');
  t.is(notModified.headers.get('etag'), etag);

  // Same query, narrower visibility: its own answer and tag, even when presenting the admin's tag.
  const narrow = await get(viewerA, etag);
  t.is(narrow.status, 200);
  t.deepEqual(await ids(narrow), ['a-1']);
  t.not(narrow.headers.get('etag'), etag);
  t.is((await get(viewerA, narrow.headers.get('etag')!)).status, 304);

  // A write: the old tag no longer matches and the answer shows the change.
  t.is((await h.rest('POST', '/api/v1/services', h.admin, inst('a-2', 'api', 'a.local'))).status, 201);
  const afterWrite = await get(h.admin, etag);
  t.is(afterWrite.status, 200);
  t.deepEqual(await ids(afterWrite), ['a-1', 'a-2', 'b-1']);
  const etag2 = afterWrite.headers.get('etag')!;
  t.not(etag2, etag);

  // A lease renewal changes no version but shows in the answer (renewed_at): the tag changes too.
  h.hub.registry.heartbeat('a-1');
  const afterRenewal = await get(h.admin, etag2);
  t.is(afterRenewal.status, 200);
  t.not(afterRenewal.headers.get('etag'), etag2);
});
