/**
 * Static tokens: the token API, the tokens file (hashes only, reloaded when it changes), expiry,
 * and the bootstrap admin token, on a whole hub with auth on.
 */
import http from 'node:http';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import YAML from 'yaml';
import { hashToken } from '../../src/auth/token-secret.js';
import { startAuthHub, type AuthHub } from '../helpers/auth-hub.js';
import { WatchRecorder } from '../helpers/grpc-watch.js';
import { registrySnapshot } from '../helpers/http-registry-snapshot.js';
import { until } from '../helpers/wait.js';

async function hubWith(t: { teardown(fn: () => Promise<void>): void }, config: Record<string, unknown> = {}): Promise<AuthHub> {
  const h = await startAuthHub(config);
  t.teardown(() => h.close());
  return h;
}

const tokensFile = (h: AuthHub): string => path.join(h.dataDir, 'tokens.yaml');

test('a first start writes the bootstrap admin token and the tokens file, both readable only by their owner', async (t) => {
  const h = await hubWith(t);
  t.is(statSync(path.join(h.dataDir, 'bootstrap-token')).mode & 0o777, 0o600);
  t.is(statSync(tokensFile(h)).mode & 0o777, 0o600);
  const file = YAML.parse(readFileSync(tokensFile(h), 'utf8')) as { tokens: Array<{ id: string; sha256: string; role: string }> };
  t.deepEqual(file.tokens.map((x) => [x.id, x.role, x.sha256]), [['bootstrap-admin', 'admin', hashToken(h.admin)]]);
  t.false(readFileSync(tokensFile(h), 'utf8').includes(h.admin), 'the file holds the hash, never the token');
  const who = await h.rest('GET', '/api/v1/auth/whoami', h.admin);
  t.like(who.json.data, { name: 'bootstrap-admin', kind: 'token', role: 'admin', expires_at: null });
  t.like(h.logs.find((l) => l.msg === 'auth: first start: wrote a bootstrap admin token, readable only by this user'), { path: path.join(h.dataDir, 'bootstrap-token') });
});

test('the token API: admins create (the secret is shown once), list and revoke; a revoked token is refused at once', async (t) => {
  const h = await hubWith(t);
  const created = await h.rest('POST', '/api/v1/auth/tokens', h.admin, { name: 'ci deployer', role: 'operator', scopes: ['shop.local', 'team-*'], ttl: '1h' });
  t.is(created.status, 201);
  const { token, secret } = created.json.data as { token: { id: string; expires_at: string }; secret: string };
  t.regex(secret, /^ort_[A-Za-z0-9_-]{43}$/);
  t.is(created.headers.get('location'), `/api/v1/auth/tokens/${token.id}`);
  t.like(token, { name: 'ci deployer', role: 'operator', scopes: ['shop.local', 'team-*'] });
  t.true(Math.abs(Date.parse(token.expires_at) - Date.now() - 3_600_000) < 60_000);
  t.true(readFileSync(tokensFile(h), 'utf8').includes(hashToken(secret)), 'its hash is in the tokens file');
  t.false(readFileSync(tokensFile(h), 'utf8').includes(secret));
  t.false(h.logText().includes(secret), 'the secret is in no log line');

  const listed = await h.rest('GET', '/api/v1/auth/tokens', h.admin);
  t.deepEqual(listed.json.data.tokens.map((x: { id: string }) => x.id).sort(), ['bootstrap-admin', token.id].sort());
  t.false(JSON.stringify(listed.json).includes(hashToken(secret)), 'neither secrets nor hashes are listed');
  t.is((await h.rest('GET', '/api/v1/auth/whoami', secret)).json.data.name, token.id);
  t.is((await h.rest('GET', '/api/v1/auth/tokens', secret)).status, 403, 'only admins manage tokens');
  t.is((await h.rest('POST', '/api/v1/auth/tokens', secret, { name: 'x', role: 'admin' })).status, 403, 'an operator cannot mint an admin');

  t.is((await h.rest('DELETE', `/api/v1/auth/tokens/${token.id}`, h.admin)).status, 200);
  const after = await h.rest('GET', '/api/v1/auth/whoami', secret);
  t.is(after.status, 401);
  t.is((await h.rest('DELETE', `/api/v1/auth/tokens/${token.id}`, h.admin)).status, 404);
  t.like(h.logs.find((l) => l.msg === 'audit' && l.op === 'DELETE /api/v1/auth/tokens/{id}' && l.result === 'ok'), { who: 'bootstrap-admin', action: 'token:admin' });
});

test('bad token requests name the field and change nothing', async (t) => {
  const h = await hubWith(t);
  const before = readFileSync(tokensFile(h), 'utf8');
  for (const [body, field, message] of [
    [{ name: 'x', role: 'root' }, 'role', /role: must be one of admin, operator, viewer, service, got "root"/],
    [{ name: 'x', role: 'viewer' }, 'scopes', /scopes: must name at least one scope for role viewer/],
    [{ name: 'x', role: 'viewer', scopes: ['Shop.local'] }, 'scopes[0]', /scopes\[0\]: must be a scope: "\*", a namespace name or prefix/],
    [{ name: 'x', role: 'viewer', scopes: ['shop.local'], reads: ['*'] }, 'reads', /reads: is for service tokens only/],
    [{ name: 'x', role: 'admin', ttl: '5s' }, 'ttl', /ttl: must be a duration/],
    [{ name: 'x', role: 'admin', sha256: 'ab' }, 'sha256', /unknown key "sha256"/],
    [{ name: 'x', role: 'admin', id: 'bootstrap-admin' }, 'id', /a token with id bootstrap-admin already exists/],
  ] as const) {
    const r = await h.rest('POST', '/api/v1/auth/tokens', h.admin, body);
    t.true(r.status === 400 || r.status === 409, `${JSON.stringify(body)}: ${r.status}`);
    t.is(r.json.error.field, field);
    t.regex(r.json.error.message, message);
  }
  t.is(readFileSync(tokensFile(h), 'utf8'), before);
});

test('a token removed from the file by hand is refused after one reload; a file that stops parsing keeps the tokens last read, and the token API will not overwrite it', async (t) => {
  const h = await hubWith(t, { auth: { reload_interval: '100ms' } });
  const ops = await h.token('operator', ['a.local']);
  t.is((await h.rest('GET', '/api/v1/auth/whoami', ops)).status, 200);
  const file = YAML.parse(readFileSync(tokensFile(h), 'utf8')) as { tokens: Array<{ sha256: string }> };

  writeFileSync(tokensFile(h), 'tokens: [this is: not, valid');
  await until('the hub to log the bad file', () => h.logs.some((l) => l.msg === 'auth: the tokens file does not parse; keeping the tokens last read'));
  t.is((await h.rest('GET', '/api/v1/auth/whoami', ops)).status, 200, 'still the tokens last read');
  const create = await h.rest('POST', '/api/v1/auth/tokens', h.admin, { name: 'while broken', role: 'viewer', scopes: ['*'] });
  t.is(create.status, 409, JSON.stringify(create.json));
  t.is(create.json.error.code, 'failed_precondition');
  t.regex(create.json.error.message, /the tokens file does not parse, so the hub will not rewrite it: .+; fix the file/);
  t.is(readFileSync(tokensFile(h), 'utf8'), 'tokens: [this is: not, valid', 'the hand edit is not overwritten');

  writeFileSync(tokensFile(h), YAML.stringify({ tokens: file.tokens.filter((x) => x.sha256 !== hashToken(ops)) }));
  await until('the revoked token to be refused', async () => (await h.rest('GET', '/api/v1/auth/whoami', ops)).status === 401, 5_000, 50);
  t.is((await h.rest('GET', '/api/v1/auth/whoami', h.admin)).status, 200, 'the others stay');
  t.true(h.logs.some((l) => l.msg === 'auth: tokens file reloaded' && l.tokens === 1));
});

test('a token added by hand with its hash works; an expired one gets 401 saying when it expired', async (t) => {
  const h = await hubWith(t, { auth: { reload_interval: '100ms' } });
  const file = YAML.parse(readFileSync(tokensFile(h), 'utf8')) as { tokens: unknown[] };
  const fresh = 'ort_made-by-hand-0123456789';
  const stale = 'ort_expired-by-hand-0123456789';
  file.tokens.push(
    { id: 'by-hand', sha256: hashToken(fresh), role: 'viewer', scopes: ['*'] },
    { id: 'old', sha256: hashToken(stale), role: 'viewer', scopes: ['*'], expires_at: '2020-01-01T00:00:00Z' },
  );
  writeFileSync(tokensFile(h), YAML.stringify(file));
  await until('the new token to work', async () => (await h.rest('GET', '/api/v1/auth/whoami', fresh)).status === 200, 5_000, 50);
  const expired = await h.rest('GET', '/api/v1/discover', stale);
  t.is(expired.status, 401);
  t.is(expired.json.error.message, 'token old expired at 2020-01-01T00:00:00.000Z');
  const before = registrySnapshot(h.hub.registry);
  t.is((await h.rest('POST', '/api/v1/namespaces', stale, { name: 'x.local' })).status, 401);
  t.deepEqual(registrySnapshot(h.hub.registry), before);
});

test('a tokens file that does not parse at start stops the hub, naming the file and the field', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-bad-tokens-'));
  writeFileSync(path.join(dir, 'tokens.yaml'), YAML.stringify({ tokens: [{ id: 'x', sha256: 'nothex', role: 'viewer', scopes: ['*'] }] }));
  const err = await t.throwsAsync(startAuthHub({ data_dir: dir }));
  t.regex(err?.message ?? '', /auth\.tokens_file .*tokens\.yaml: tokens\[0\]\.sha256: must be the SHA-256 of the token, 64 lowercase hex digits/);
});

test('a stream lives no longer than its credential: an open Watch ends when its token expires', async (t) => {
  const h = await hubWith(t, { auth: { reload_interval: '100ms' } });
  const file = YAML.parse(readFileSync(tokensFile(h), 'utf8')) as { tokens: unknown[] };
  const soon = 'ort_expires-in-a-moment-0123456789';
  const expiresAt = new Date(Date.now() + 1500).toISOString();
  file.tokens.push({ id: 'short', sha256: hashToken(soon), role: 'viewer', scopes: ['*'], expires_at: expiresAt });
  writeFileSync(tokensFile(h), YAML.stringify(file));
  await until('the token to work', async () => (await h.rest('GET', '/api/v1/auth/whoami', soon)).status === 200, 5_000, 50);
  const w = new WatchRecorder(h.client(soon).Watch({}));
  const end = await w.ends(10_000);
  t.is(end?.code, grpc.status.UNAUTHENTICATED);
  t.regex(end?.details ?? '', /^the credential of short expired at .*; open the stream again with a fresh one$/);
  t.true(Date.now() >= Date.parse(expiresAt), 'not before its expiry');
});

test('on one keep-alive connection, the identity found for a token is not reused once the token is revoked', async (t) => {
  const h = await hubWith(t);
  const secret = await h.token('viewer', ['*']);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const sockets = new Set<unknown>();
  const whoami = (token: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.get(`${h.addresses.http}/api/v1/auth/whoami`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        sockets.add(req.socket);
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
  t.is(await whoami(secret), 200);
  t.is(await whoami(secret), 200);
  t.is(await whoami(h.admin), 200, 'another token on the same connection is identified as itself');
  t.is(await whoami(secret), 200);
  const id = ((await h.rest('GET', '/api/v1/auth/whoami', secret)).json.data as { name: string }).name;
  t.is((await h.rest('DELETE', `/api/v1/auth/tokens/${id}`, h.admin)).status, 200);
  t.is(await whoami(secret), 401);
  t.is(sockets.size, 1, 'every request went over one connection');
});
