import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { SignJWT, exportSPKI, generateKeyPair, type CryptoKey } from 'jose';
import type { Identity } from '../../src/auth/identity.js';
import { JwtVerifier, type JwtVerifierOptions } from '../../src/auth/jwt-verifier.js';
import { parseScope } from '../../src/auth/scope.js';
import { OutriggerError } from '../../src/common/errors.js';
import { createLogger } from '../../src/common/logger.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { until } from '../helpers/wait.js';
import { AUDIENCE, ISSUER, JwtIssuer, claims } from '../helpers/jwt-issuer.js';

let issuer: JwtIssuer;
test.before(async () => {
  issuer = await JwtIssuer.create();
});
test.after.always(() => issuer.close());

function options(clock: ManualClock, extra: Partial<JwtVerifierOptions> = {}): JwtVerifierOptions {
  return {
    issuer: ISSUER,
    audience: AUDIENCE,
    keyFiles: { hs256SecretFile: issuer.files.secret, publicKeyFiles: [issuer.files.rsaPem, issuer.files.ecPem], jwksFile: issuer.files.jwks },
    roleClaim: 'role',
    scopesClaim: 'scopes',
    defaultScopes: [],
    clockToleranceMs: 30_000,
    reloadIntervalMs: 2000,
    clock,
    logger: createLogger('silent'),
    ...extra,
  };
}

const scopes = (i: Identity) => i.scopes.map((s) => s.text);
const reads = (i: Identity) => i.reads.map((s) => s.text);

/** Asserts that verifying fails with `unauthenticated` and a message matching `why`. */
async function refused(t: ExecutionContext, p: Promise<unknown>, why: RegExp): Promise<void> {
  const err = await t.throwsAsync(p, { instanceOf: OutriggerError });
  t.is(err?.code, 'unauthenticated');
  t.regex(err?.message ?? '', why);
}

test('HS256, RS256, ES256 and JWKS tokens (with a kid, and without one among several keys) give the identity their claims say', async (t) => {
  const clock = new ManualClock();
  const v = await JwtVerifier.create(options(clock));
  for (const by of ['hs256', 'rs256', 'es256', 'jwks-1', 'jwks-2'] as const) {
    const token = await issuer.sign(claims(clock.now(), { sub: `user-${by}`, role: 'viewer', scopes: ['team-a.local', 'shop.local/cart-*'] }), by);
    const id = await v.verify(token);
    t.like(id, { name: `user-${by}`, kind: 'jwt', role: 'viewer' }, by);
    t.deepEqual(scopes(id), ['team-a.local', 'shop.local/cart-*'], by);
    t.deepEqual(reads(id), scopes(id), `${by}: a viewer reads within its scopes`);
    t.is(id.expiresAt, (Math.floor(clock.now() / 1000) + 3600) * 1000, by);
  }
  const noKid = await issuer.sign(claims(clock.now(), { sub: 'no-kid' }), 'jwks-2', { kid: null });
  t.is((await v.verify(noKid)).name, 'no-kid', 'a JWT without kid verifies against the JWKS key that fits');
});

test('claims: only the configured issuer is claimed; scopes as a space-separated string, default scopes, and reads for the service role', async (t) => {
  const clock = new ManualClock();
  const v = await JwtVerifier.create(options(clock, { defaultScopes: [parseScope('default.local')!] }));
  t.true(v.claims({ iss: ISSUER }));
  t.false(v.claims({ iss: 'https://kubernetes.default.svc' }));
  t.false(v.claims({}));
  const spaced = await v.verify(await issuer.sign(claims(clock.now(), { scopes: 'a.local  b.local/web' }), 'hs256'));
  t.deepEqual(scopes(spaced), ['a.local', 'b.local/web']);
  const { scopes: _, ...noScopes } = claims(clock.now());
  t.deepEqual(scopes(await v.verify(await issuer.sign(noScopes, 'hs256'))), ['default.local']);
  const service = await v.verify(await issuer.sign(claims(clock.now(), { role: 'service', scopes: ['shop.local/web'] }), 'hs256'));
  t.deepEqual([service.role, scopes(service), reads(service)], ['service', ['shop.local/web'], ['*']]);
  const narrow = await v.verify(await issuer.sign(claims(clock.now(), { sub: 'narrow', role: 'service', scopes: ['shop.local/web'], reads: ['shop.local'] }), 'hs256'));
  t.deepEqual(reads(narrow), ['shop.local']);
  const admin = await v.verify(await issuer.sign(claims(clock.now(), { role: 'admin', scopes: undefined }), 'hs256'));
  t.is(admin.role, 'admin');
});

test('refusals name the check that failed: expired, not yet valid, iss, aud, signature, alg, missing exp or sub', async (t) => {
  const clock = new ManualClock();
  const v = await JwtVerifier.create(options(clock));
  const now = Math.floor(clock.now() / 1000);
  const sign = (extra: Record<string, unknown>, by: Parameters<JwtIssuer['sign']>[1] = 'rs256') => issuer.sign(claims(clock.now(), extra), by);
  await refused(t, v.verify(await sign({ exp: now - 60 })), new RegExp(`^JWT refused: token expired at ${new Date((now - 60) * 1000).toISOString().replace(/\./g, '\\.')}$`));
  await refused(t, v.verify(await sign({ nbf: now + 600 })), new RegExp(`token not valid before ${new Date((now + 600) * 1000).toISOString().replace(/\./g, '\\.')}`));
  await refused(t, v.verify(await sign({ iss: 'https://elsewhere.example' })), /iss "https:\/\/elsewhere\.example" is not the configured issuer "https:\/\/ai-core\.example\/auth"/);
  await refused(t, v.verify(await sign({ aud: 'someone-else' })), /aud "someone-else" does not include the configured audience "outrigger-hub"/);
  await refused(t, v.verify(await sign({ aud: undefined })), /has no "aud" claim/);
  await refused(t, v.verify(await sign({}, 'stranger')), /^JWT refused: signature does not verify with any configured RS256 key$/);
  const [header, , signature] = (await sign({})).split('.');
  const forged = Buffer.from(JSON.stringify({ ...claims(clock.now()), role: 'admin' })).toString('base64url');
  await refused(t, v.verify(`${header}.${forged}.${signature}`), /signature does not verify/);
  await refused(t, v.verify(await issuer.sign(claims(clock.now()), 'jwks-1', { kid: 'key-9' })), /signature does not verify with any configured RS256 key/);
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims(clock.now()))).toString('base64url')}.`;
  await refused(t, v.verify(none), /alg "none" is not accepted; the hub accepts HS256, RS256, ES256/);
  await refused(t, v.verify(await sign({ exp: undefined })), /has no "exp" claim; the hub accepts only JWTs that expire/);
  await refused(t, v.verify(await sign({ sub: undefined })), /claim "sub" must be a string/);
  await refused(t, v.verify('e30.e30.'), /alg undefined is not accepted/);
});

test('a role claim that is not a role, or a scope that does not parse, refuses the token naming the claim and what it allows', async (t) => {
  const clock = new ManualClock();
  const v = await JwtVerifier.create(options(clock, { roleClaim: 'outrigger_role', scopesClaim: 'outrigger_scopes' }));
  const sign = (extra: Record<string, unknown>) => issuer.sign({ ...claims(clock.now(), { role: undefined, scopes: undefined }), ...extra }, 'es256');
  await refused(t, v.verify(await sign({ outrigger_role: 'superuser', outrigger_scopes: ['a.local'] })), /claim "outrigger_role" \(auth\.jwt\.role_claim\) must be one of admin, operator, viewer, service; got "superuser"/);
  await refused(t, v.verify(await sign({ outrigger_scopes: ['a.local'] })), /claim "outrigger_role" .* it is missing/);
  await refused(t, v.verify(await sign({ outrigger_role: 'viewer', outrigger_scopes: ['a.local', 'Not A Scope'] })), /claim "outrigger_scopes" \(auth\.jwt\.scopes_claim\): "Not A Scope" is not a scope; a scope is "\*", a namespace name or prefix/);
  await refused(t, v.verify(await sign({ outrigger_role: 'viewer', outrigger_scopes: 7 })), /must be a list of scopes or a space-separated string; got 7/);
  await refused(t, v.verify(await sign({ outrigger_role: 'service', outrigger_scopes: ['a.local/web'], reads: ['a/b/c'] })), /claim "reads": "a\/b\/c" is not a scope/);
  t.is((await v.verify(await sign({ outrigger_role: 'viewer', outrigger_scopes: ['a.local'] }))).role, 'viewer');
});

test('clock tolerance: a token expired or not yet valid by less than auth.jwt.clock_tolerance is accepted', async (t) => {
  const clock = new ManualClock();
  const v = await JwtVerifier.create(options(clock, { clockToleranceMs: 30_000 }));
  const now = Math.floor(clock.now() / 1000);
  t.is((await v.verify(await issuer.sign(claims(clock.now(), { sub: 'late', exp: now - 20 }), 'hs256'))).name, 'late');
  t.is((await v.verify(await issuer.sign(claims(clock.now(), { sub: 'early', nbf: now + 20 }), 'hs256'))).name, 'early');
  await refused(t, v.verify(await issuer.sign(claims(clock.now(), { exp: now - 40 }), 'hs256')), /token expired at/);
});

test('a verified token is cached until it expires, and is refused once it has', async (t) => {
  const clock = new ManualClock();
  const v = await JwtVerifier.create(options(clock, { clockToleranceMs: 0 }));
  const token = await issuer.sign(claims(clock.now(), { exp: Math.floor(clock.now() / 1000) + 60 }), 'rs256');
  const first = await v.verify(token);
  t.is(await v.verify(token), first, 'the second call is answered from the cache');
  clock.advance(59_000);
  t.is(await v.verify(token), first);
  clock.advance(1_000);
  await refused(t, v.verify(token), /token expired at/);
});

test('key files: each that cannot be used is a config error naming its key', async (t) => {
  const clock = new ManualClock();
  const file = (name: string, text: string): string => {
    const p = path.join(issuer.dir, name);
    writeFileSync(p, text);
    return p;
  };
  const keyFiles = (extra: Partial<JwtVerifierOptions['keyFiles']>) => options(clock, { keyFiles: { hs256SecretFile: '', publicKeyFiles: [], jwksFile: '', ...extra } });
  const fails = async (o: JwtVerifierOptions, field: string, why: RegExp) => {
    const err = await t.throwsAsync(JwtVerifier.create(o), { instanceOf: OutriggerError });
    t.is(err?.code, 'config_invalid');
    t.is(err?.field, field);
    t.regex(err?.message ?? '', why);
  };
  await fails(keyFiles({ publicKeyFiles: [issuer.files.rsaPem, path.join(issuer.dir, 'missing.pem')] }), 'auth.jwt.public_key_files[1]', /^auth\.jwt\.public_key_files\[1\]: cannot read .*missing\.pem: ENOENT$/);
  await fails(keyFiles({ publicKeyFiles: [file('junk.pem', 'not a key')] }), 'auth.jwt.public_key_files[0]', /is not a PEM public key/);
  const p384 = await generateKeyPair('ES384', { extractable: true });
  await fails(keyFiles({ publicKeyFiles: [file('p384.pem', await exportSPKI(p384.publicKey))] }), 'auth.jwt.public_key_files[0]', /is an EC key on secp384r1; it must be an RSA key \(RS256\) or an EC key on P-256 \(ES256\)/);
  await fails(keyFiles({ publicKeyFiles: [file('private.pem', '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n')] }), 'auth.jwt.public_key_files[0]', /holds a private key; give the hub only the public key/);
  await fails(keyFiles({ hs256SecretFile: file('short.secret', 'too-short\n') }), 'auth.jwt.hs256_secret_file', /is 9 bytes; HS256 needs at least 32/);
  await fails(keyFiles({ jwksFile: file('bad.json', '{"keys": [') }), 'auth.jwt.jwks_file', /is not JSON/);
  await fails(keyFiles({ jwksFile: file('empty.json', '{"keys": []}') }), 'auth.jwt.jwks_file', /must be a JSON Web Key Set: \{"keys": \[\.\.\.\]\} with at least one key/);
  await fails(keyFiles({ jwksFile: file('oct.json', JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'shared' }] })) }), 'auth.jwt.jwks_file', /keys\[0\] \(kid "shared"\) is a secret or private key/);
  await fails(keyFiles({ jwksFile: file('broken.json', JSON.stringify({ keys: [{ kty: 'RSA', n: 'AQAB', kid: 'x' }] })) }), 'auth.jwt.jwks_file', /keys\[0\] \(kid "x"\) cannot be used/);
});

test('a changed key file is picked up at the next poll on the Clock; one that stops loading keeps the keys last read', async (t) => {
  const clock = new ManualClock();
  const lines: string[] = [];
  const logger = createLogger('info', {}, { write: (l) => lines.push(l) });
  const pem = path.join(issuer.dir, 'rotating.pem');
  const replace = (text: string) => {
    writeFileSync(`${pem}.new`, text);
    renameSync(`${pem}.new`, pem);
  };
  const oldKey = await generateKeyPair('ES256', { extractable: true });
  const newKey = await generateKeyPair('ES256', { extractable: true });
  replace(await exportSPKI(oldKey.publicKey));
  const v = await JwtVerifier.create(options(clock, { logger, keyFiles: { hs256SecretFile: '', publicKeyFiles: [pem], jwksFile: '' } }));
  v.watch();
  t.teardown(() => v.close());
  const signWith = (key: CryptoKey) => new SignJWT(claims(clock.now())).setProtectedHeader({ alg: 'ES256' }).sign(key);
  const oldToken = await signWith(oldKey.privateKey);
  const newToken = await signWith(newKey.privateKey);
  t.is((await v.verify(oldToken)).name, 'alice');

  replace(await exportSPKI(newKey.publicKey));
  t.is((await v.verify(oldToken)).name, 'alice', 'nothing changes before the poll');
  clock.advance(2000);
  await until('the new key to be loaded', () => lines.some((l) => l.includes('JWT keys reloaded')));
  await refused(t, v.verify(oldToken), /signature does not verify/);
  t.is((await v.verify(newToken)).name, 'alice');

  replace('garbage');
  clock.advance(2000);
  await until('the broken file to be reported', () => lines.some((l) => l.includes('keeping the keys last read')));
  t.regex(lines.find((l) => l.includes('keeping the keys last read'))!, /auth\.jwt\.public_key_files\[0\].*is not a PEM public key/);
  t.is((await v.verify(newToken)).name, 'alice', 'the keys last read still verify');
});
