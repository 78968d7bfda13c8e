/**
 * JWTs at a real hub (REST and gRPC on loopback): every key kind gives the identity its claims
 * say, every bad token is refused with its reason and changes nothing, and a JWT's scopes bound
 * what it may write.
 */
import * as grpc from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import { errorDetails } from '../../src/wire/registry-client.js';
import { startAuthHubFor, type AuthHub } from '../helpers/auth-hub.js';
import { registrySnapshot } from '../helpers/http-registry-snapshot.js';
import { AUDIENCE, ISSUER, JwtIssuer, claims } from '../helpers/jwt-issuer.js';

let issuer: JwtIssuer;
test.before(async () => {
  issuer = await JwtIssuer.create();
});
test.after.always(() => issuer.close());

function jwtHub(t: ExecutionContext, jwt: Record<string, unknown> = {}): Promise<AuthHub> {
  return startAuthHubFor(t, {
    auth: {
      jwt: {
        enabled: true,
        issuer: ISSUER,
        audience: AUDIENCE,
        hs256_secret_file: issuer.files.secret,
        public_key_files: [issuer.files.rsaPem, issuer.files.ecPem],
        jwks_file: issuer.files.jwks,
        ...jwt,
      },
    },
  });
}

const registration = (namespace: string, id = `web-${namespace}`) => ({ id, service: 'web', namespace, address: '10.0.0.1', port: 8080 });

test('HS256, RS256, ES256 and JWKS tokens are accepted over REST and gRPC with the role and scopes of their claims', async (t) => {
  const h = await jwtHub(t);
  for (const by of ['hs256', 'rs256', 'es256', 'jwks-1', 'jwks-2'] as const) {
    const token = await issuer.sign(claims(Date.now(), { sub: `ci-${by}`, role: 'operator', scopes: ['team-a.local', 'shop.local/web'] }), by, by === 'jwks-2' ? { kid: null } : {});
    const who = await h.rest('GET', '/api/v1/auth/whoami', token);
    t.is(who.status, 200, `${by}: ${who.text}`);
    t.like(who.json.data, { name: `ci-${by}`, kind: 'jwt', role: 'operator', scopes: ['team-a.local', 'shop.local/web'] }, by);
    const created = await h.rest('POST', '/api/v1/services', token, registration('team-a.local', `rest-${by}`));
    t.is(created.status, 201, `${by}: ${created.text}`);
    await h.grpc('Register', registration('team-a.local', `grpc-${by}`), token);
  }
  t.is(h.hub.registry.instancesOf('team-a.local', 'web').length, 10);
});

test('an expired JWT gets 401 with the reason, in the REST body and in the gRPC UNAUTHENTICATED details', async (t) => {
  const h = await jwtHub(t);
  const exp = Math.floor(Date.now() / 1000) - 3600;
  const token = await issuer.sign(claims(Date.now(), { iat: exp - 3600, exp }), 'rs256');
  const before = registrySnapshot(h.hub.registry);
  const expected = `JWT refused: token expired at ${new Date(exp * 1000).toISOString()}`;
  const r = await h.rest('POST', '/api/v1/services', token, registration('team-a.local'));
  t.is(r.status, 401);
  t.deepEqual(r.json, { error: { code: 'unauthenticated', message: expected } });
  const err = await t.throwsAsync<grpc.ServiceError>(h.grpc('Register', registration('team-a.local'), token));
  t.is(err?.code, grpc.status.UNAUTHENTICATED);
  t.is(err?.details, expected);
  t.is(errorDetails(err!).code, 'unauthenticated');
  t.deepEqual(registrySnapshot(h.hub.registry), before, 'nothing changed');
});

test('each bad JWT is refused over REST and gRPC with its reason, and nothing changes in the registry', async (t) => {
  const h = await jwtHub(t);
  const now = Math.floor(Date.now() / 1000);
  const [header, , signature] = (await issuer.sign(claims(Date.now()), 'hs256')).split('.');
  const cases: Array<[string, Promise<string> | string, RegExp]> = [
    ['not yet valid', issuer.sign(claims(Date.now(), { nbf: now + 3600 }), 'es256'), /^JWT refused: token not valid before \d{4}-/],
    ['another issuer', issuer.sign(claims(Date.now(), { iss: 'https://evil.example' }), 'hs256'), /JWT of issuer "https:\/\/evil\.example", which no configured verifier accepts/],
    ['another audience', issuer.sign(claims(Date.now(), { aud: 'billing' }), 'hs256'), /^JWT refused: aud "billing" does not include the configured audience "outrigger-hub"$/],
    ['a key the hub does not know', issuer.sign(claims(Date.now()), 'stranger'), /^JWT refused: signature does not verify with any configured RS256 key$/],
    ['a payload changed after signing', `${header}.${Buffer.from(JSON.stringify(claims(Date.now(), { role: 'admin' }))).toString('base64url')}.${signature}`, /^JWT refused: signature does not verify with any configured HS256 key$/],
    ['a role that is not a role', issuer.sign(claims(Date.now(), { role: 'root' }), 'rs256'), /^JWT refused: claim "role" \(auth\.jwt\.role_claim\) must be one of admin, operator, viewer, service; got "root"$/],
    ['a scope that does not parse', issuer.sign(claims(Date.now(), { scopes: ['team-a.local', 'TEAM B'] }), 'rs256'), /^JWT refused: claim "scopes" \(auth\.jwt\.scopes_claim\): "TEAM B" is not a scope/],
  ];
  const before = registrySnapshot(h.hub.registry);
  for (const [what, pending, why] of cases) {
    const token = await pending;
    const r = await h.rest('POST', '/api/v1/services', token, registration('team-a.local'));
    t.is(r.status, 401, what);
    t.is(r.json.error.code, 'unauthenticated', what);
    t.regex(r.json.error.message, why, what);
    const err = await t.throwsAsync<grpc.ServiceError>(h.grpc('Register', registration('team-a.local'), token), undefined, what);
    t.is(err?.code, grpc.status.UNAUTHENTICATED, what);
    t.regex(err?.details ?? '', why, what);
  }
  t.deepEqual(registrySnapshot(h.hub.registry), before, 'nothing changed');
});

test('a JWT scoped to namespace A registers there and gets 403 permission_denied for namespace B, over REST and gRPC', async (t) => {
  const h = await jwtHub(t);
  const token = await issuer.sign(claims(Date.now(), { sub: 'team-a-deployer', role: 'operator', scopes: ['team-a.local'] }), 'hs256');
  t.is((await h.rest('POST', '/api/v1/services', token, registration('team-a.local'))).status, 201);
  const before = registrySnapshot(h.hub.registry);
  const r = await h.rest('POST', '/api/v1/services', token, registration('team-b.local'));
  t.is(r.status, 403);
  t.is(r.json.error.code, 'permission_denied');
  t.regex(r.json.error.message, /^instance:write on web\.team-b\.local is not allowed for jwt team-a-deployer \(operator; scopes team-a\.local\)$/);
  const err = await t.throwsAsync<grpc.ServiceError>(h.grpc('Register', registration('team-b.local'), token));
  t.is(err?.code, grpc.status.PERMISSION_DENIED);
  t.deepEqual(registrySnapshot(h.hub.registry), before, 'nothing changed in B');
  const deleted = await h.rest('DELETE', `/api/v1/services/web-team-a.local`, token);
  t.is(deleted.status, 200, deleted.text);
});

test('a hub whose JWT key file cannot be read does not start, and says which key', async (t) => {
  const err = await t.throwsAsync(jwtHub(t, { public_key_files: [issuer.files.rsaPem, `${issuer.dir}/nope.pem`] }));
  t.regex(err?.message ?? '', /^auth\.jwt\.public_key_files\[1\]: cannot read .*nope\.pem: ENOENT$/);
});
