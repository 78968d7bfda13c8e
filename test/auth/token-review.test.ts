/**
 * The TokenReview verifier against a loopback fake of the Kubernetes API's TokenReview wire
 * API: what an answer proves, how long answers are reused, and what happens when the API
 * server cannot be asked.
 */
import test, { type ExecutionContext } from 'ava';
import { unverifiedClaims } from '../../src/auth/authenticator.js';
import { Bindings, bindingSchema } from '../../src/auth/bindings.js';
import { TokenReviewVerifier, type TokenReviewOptions } from '../../src/auth/token-review.js';
import { OutriggerError, type ErrorCode } from '../../src/common/errors.js';
import { createLogger } from '../../src/common/logger.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { parseWith } from '../../src/model/parse-input.js';
import { until } from '../helpers/wait.js';
import { FakeKubeApi, serviceAccountTokenText } from '../k8s/helpers/fake-kube-api.js';

interface Fixture {
  api: FakeKubeApi;
  clock: ManualClock;
  verifier: TokenReviewVerifier;
  log: string[];
  /** A token the fake knows for namespace/name, valid for `ttlMs` from now. */
  token(namespace: string, name: string, ttlMs?: number, audiences?: string[]): string;
  verify(token: string): ReturnType<TokenReviewVerifier['verify']>;
}

async function fixture(t: ExecutionContext, options: Partial<TokenReviewOptions> = {}): Promise<Fixture> {
  const api = await FakeKubeApi.start();
  t.teardown(() => api.close());
  const clock = new ManualClock();
  const log: string[] = [];
  const verifier = new TokenReviewVerifier({
    kubeConfig: api.kubeConfig(),
    audience: 'outrigger',
    cacheTtlMs: 300_000,
    bindings: new Bindings([], 'svc.cluster.local'),
    clock,
    logger: createLogger('debug', {}, { write: (l) => log.push(l) }),
    ...options,
  });
  return {
    api,
    clock,
    verifier,
    log,
    token(namespace, name, ttlMs = 3_600_000, audiences = ['outrigger']) {
      const text = serviceAccountTokenText(namespace, name, clock.now() + ttlMs, audiences);
      api.addServiceAccountToken(text, namespace, name, audiences);
      return text;
    },
    verify: (token) => verifier.verify(token, unverifiedClaims(token) ?? {}),
  };
}

async function refused(t: ExecutionContext, p: Promise<unknown>, code: ErrorCode, why: RegExp): Promise<void> {
  const err = await t.throwsAsync(p, { instanceOf: OutriggerError });
  t.is(err?.code, code);
  t.regex(err?.message ?? '', why);
}

test('an authenticated ServiceAccount token is the service role for its own service, asked for the outrigger audience', async (t) => {
  const f = await fixture(t);
  const token = f.token('shop', 'web');
  const id = await f.verify(token);
  t.like(id, { name: 'system:serviceaccount:shop:web', kind: 'kubernetes', role: 'service', expiresAt: Math.floor((f.clock.now() + 3_600_000) / 1000) * 1000 });
  t.deepEqual(id.scopes.map((s) => s.text), ['shop.svc.cluster.local/web']);
  t.deepEqual(id.reads.map((s) => s.text), ['*']);
  t.deepEqual(f.api.reviews, [{ audiences: ['outrigger'] }]);
});

test('a binding gives a ServiceAccount another role and scopes', async (t) => {
  const binding = parseWith(bindingSchema, { identity: 'system:serviceaccount:ops:*', role: 'operator', scopes: ['shop.svc.cluster.local'] });
  const f = await fixture(t, { bindings: new Bindings([binding], 'svc.cluster.local') });
  const id = await f.verify(f.token('ops', 'deployer'));
  t.like(id, { name: 'system:serviceaccount:ops:deployer', role: 'operator' });
  t.deepEqual(id.scopes.map((s) => s.text), ['shop.svc.cluster.local']);
});

test('answers are reused until cache_ttl, and never past shortly before the token expires', async (t) => {
  const f = await fixture(t, { cacheTtlMs: 60_000 });
  const long = f.token('shop', 'web');
  const first = await f.verify(long);
  t.is(await f.verify(long), first);
  f.clock.advance(59_999);
  await f.verify(long);
  t.is(f.api.reviews.length, 1, 'reused within cache_ttl');
  f.clock.advance(1);
  await f.verify(long);
  t.is(f.api.reviews.length, 2, 'reviewed again once cache_ttl has passed');

  const short = f.token('shop', 'cart', 45_000);
  await f.verify(short);
  f.clock.advance(14_999);
  await f.verify(short);
  t.is(f.api.reviews.length, 3, 'reused until 30 s before the token expires');
  f.clock.advance(1);
  await f.verify(short);
  t.is(f.api.reviews.length, 4, 'reviewed again in the last 30 s of the token');
});

test('concurrent calls with one token wait for one review', async (t) => {
  const f = await fixture(t);
  const token = f.token('shop', 'web');
  const release = f.api.holdReviews();
  const calls = Array.from({ length: 5 }, () => f.verify(token));
  await until('the review to reach the API server', () => f.api.heldReviewCount === 1);
  release();
  const ids = await Promise.all(calls);
  t.true(ids.every((id) => id === ids[0]));
  t.is(f.api.reviews.length, 1);
});

test('a token the API server does not authenticate is refused with its reason, and the refusal is reused briefly', async (t) => {
  const f = await fixture(t);
  const unknown = serviceAccountTokenText('shop', 'web', f.clock.now() + 3_600_000);
  await refused(t, f.verify(unknown), 'unauthenticated', /^ServiceAccount token refused: the Kubernetes API server did not authenticate it: \[invalid bearer token/);
  await refused(t, f.verify(unknown), 'unauthenticated', /did not authenticate it/);
  t.is(f.api.reviews.length, 1, 'the refusal is reused');
  f.clock.advance(10_000);
  await refused(t, f.verify(unknown), 'unauthenticated', /did not authenticate it/);
  t.is(f.api.reviews.length, 2, 'asked again after 10 s');
});

test('it claims the JWTs whose subject is a ServiceAccount, of any issuer', async (t) => {
  const f = await fixture(t);
  t.true(f.verifier.claims(unverifiedClaims(f.token('shop', 'web'))!));
  t.true(f.verifier.claims({ iss: 'kubernetes/serviceaccount', sub: 'system:serviceaccount:shop:web' }), 'a legacy Secret token too');
  t.false(f.verifier.claims({ iss: 'https://kubernetes.default.svc.cluster.local', sub: 'alice' }));
  t.false(f.verifier.claims({}));
});

test('refused: a token for another audience, an answer without the audience, a user that is not a ServiceAccount, an expired token', async (t) => {
  const f = await fixture(t);
  // The API server's answer: the token's claims name outrigger, but the API server knows better.
  const claimsOutrigger = serviceAccountTokenText('shop', 'web', f.clock.now() + 3_600_000);
  f.api.addServiceAccountToken(claimsOutrigger, 'shop', 'web', ['https://kubernetes.default.svc']);
  await refused(t, f.verify(claimsOutrigger), 'unauthenticated', /token audiences \["https:\/\/kubernetes\.default\.svc"\] is invalid for the target audiences \["outrigger"\]/);
  const asked = f.api.reviews.length;
  await refused(t, f.verify(f.token('shop', 'web', 3_600_000, ['https://kubernetes.default.svc'])), 'unauthenticated', /^ServiceAccount token refused: it is not made for the audience "outrigger"/);
  t.is(f.api.reviews.length, asked, 'a token whose own claims name another audience is refused without asking');
  f.api.audienceAware = false;
  await refused(t, f.verify(f.token('shop', 'cart')), 'unauthenticated', /^ServiceAccount token refused: it is not made for the audience "outrigger" \(auth\.kubernetes\.audience\)/);
  f.api.audienceAware = true;
  const userToken = serviceAccountTokenText('shop', 'ignored', f.clock.now() + 3_600_000);
  f.api.addToken(userToken, { username: 'kubernetes-admin', audiences: ['outrigger'] });
  await refused(t, f.verify(userToken), 'unauthenticated', /it authenticates "kubernetes-admin", which is not a ServiceAccount/);
  const reviews = f.api.reviews.length;
  const expired = f.token('shop', 'web', -1000);
  await refused(t, f.verify(expired), 'unauthenticated', /^ServiceAccount token refused: token expired at \d{4}-/);
  t.is(f.api.reviews.length, reviews, 'an expired token is refused without asking');
});

test('at most maxInFlight reviews wait at once; a call beyond them is unavailable', async (t) => {
  const f = await fixture(t, { maxInFlight: 2 });
  const release = f.api.holdReviews();
  const waiting = [f.verify(f.token('shop', 'a')), f.verify(f.token('shop', 'b'))];
  await until('two reviews to reach the API server', () => f.api.heldReviewCount === 2);
  await refused(t, f.verify(f.token('shop', 'c')), 'unavailable', /2 TokenReviews are already waiting for the Kubernetes API server; retry later/);
  release();
  t.deepEqual((await Promise.all(waiting)).map((id) => id.name), ['system:serviceaccount:shop:a', 'system:serviceaccount:shop:b']);
  t.is((await f.verify(f.token('shop', 'c'))).name, 'system:serviceaccount:shop:c');
});

test('an API server that cannot be asked is unavailable, not a refusal, and the next call asks again', async (t) => {
  const f = await fixture(t);
  const token = f.token('shop', 'web');
  f.api.failNextReview(500);
  await refused(t, f.verify(token), 'unavailable', /^cannot verify the ServiceAccount token now: the Kubernetes API server cannot be asked \(it answered HTTP 500\); retry later$/);
  f.api.failNextReview(403);
  await refused(t, f.verify(token), 'unavailable', /HTTP 403 to the hub itself: the hub may not create tokenreviews .*system:auth-delegator/);
  t.is((await f.verify(token)).role, 'service', 'nothing was cached');
  t.true(f.log.some((l) => l.includes('"level":"error"') && l.includes('HTTP 403')), 'the hub logs it');

  const release = f.api.holdReviews();
  const slow = f.verify(f.token('shop', 'cart'));
  await until('the review to reach the API server', () => f.api.heldReviewCount === 1);
  f.clock.advance(10_000);
  await refused(t, slow, 'unavailable', /it did not answer within 10000 ms/);
  release();

  await f.api.close();
  await refused(t, f.verify(f.token('shop', 'other')), 'unavailable', /cannot be asked \(ECONNREFUSED\)/);
});

test('a JWT that cannot be a projected ServiceAccount token for this hub is refused without asking the API server', async (t) => {
  const f = await fixture(t);
  const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const exp = Math.floor((f.clock.now() + 3_600_000) / 1000);
  const claims = { sub: 'system:serviceaccount:shop:web', aud: ['outrigger'], exp };
  const forged = (header: Record<string, unknown>, body: Record<string, unknown>) => `${part(header)}.${part(body)}.${Buffer.from('sig').toString('base64url')}`;
  const cases: Array<[string, RegExp]> = [
    [forged({ alg: 'none' }, claims), /names the algorithm "none"; Kubernetes signs ServiceAccount tokens with RS256 or ES256/],
    [forged({ alg: 'HS256' }, claims), /names the algorithm "HS256"/],
    [forged({ typ: 'JWT' }, claims), /names the algorithm none/],
    [forged({ alg: 'RS256' }, { ...claims, exp: undefined }), /no numeric "exp"/],
    [forged({ alg: 'RS256' }, { ...claims, exp: String(exp) }), /no numeric "exp"/],
    [forged({ alg: 'ES256' }, { ...claims, aud: undefined }), /not made for the audience "outrigger"/],
  ];
  for (const [token, why] of cases) await refused(t, f.verify(token), 'unauthenticated', why);
  t.deepEqual(f.api.reviews, [], 'not one TokenReview was sent');
});
