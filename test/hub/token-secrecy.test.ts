/**
 * Tokens never appear in the hub's logs, errors or metrics: a hub with JWTs and ServiceAccount
 * tokens on is called with valid and invalid ones of each kind, over REST and gRPC, and
 * everything it logged, answered and exported is searched for them.
 */
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import { startAuthHubFor } from '../helpers/auth-hub.js';
import { AUDIENCE, ISSUER, JwtIssuer, claims } from '../helpers/jwt-issuer.js';
import { FakeKubeApi, serviceAccountTokenText } from '../k8s/helpers/fake-kube-api.js';

test('no token, nor any part of one, appears in the log, in an answer or in /metrics', async (t) => {
  const issuer = await JwtIssuer.create();
  t.teardown(() => issuer.close());
  const api = await FakeKubeApi.start();
  t.teardown(() => api.close());
  const clock = new ManualClock();
  const hub = await startAuthHubFor(t, {
      auth: {
        jwt: { enabled: true, issuer: ISSUER, audience: AUDIENCE, hs256_secret_file: issuer.files.secret, jwks_file: issuer.files.jwks },
        kubernetes: { enabled: true, kubeconfig: api.writeKubeconfig() },
      },
    },
    { clock },
  );
  const now = clock.now();
  const sa = (ns: string, name: string, known = true): string => {
    const text = serviceAccountTokenText(ns, name, now + 3_600_000);
    if (known) api.addServiceAccountToken(text, ns, name);
    return text;
  };
  const tokens = {
    admin: hub.admin,
    unknownStatic: `${hub.admin.slice(0, -4)}AAAA`,
    jwtValid: await issuer.sign(claims(now, { sub: 'jwt-user', scopes: ['shop.svc.cluster.local'] }), 'hs256'),
    jwtExpired: await issuer.sign(claims(now, { exp: Math.floor(now / 1000) - 60 }), 'jwks-1'),
    jwtBadRole: await issuer.sign(claims(now, { role: 'root' }), 'jwks-2', { kid: null }),
    jwtForeignKey: await issuer.sign(claims(now), 'stranger'),
    saValid: sa('shop', 'web'),
    saUnknown: sa('shop', 'web', false),
    saOtherService: sa('shop', 'cart'),
    saApiDown: sa('shop', 'billing'),
  };
  const answers: string[] = [];
  const register = (service: string) => ({ id: `${service}-x`, service, namespace: 'shop.svc.cluster.local', address: '10.0.0.9', port: 80 });
  for (const [name, token] of Object.entries(tokens)) {
    if (name === 'saApiDown') api.failNextReview(500);
    for (const r of [
      await hub.rest('GET', '/api/v1/auth/whoami', token),
      await hub.rest('POST', '/api/v1/services', token, register('web')),
      await hub.rest('GET', '/api/v1/auth/tokens', token),
    ]) {
      answers.push(r.text, JSON.stringify([...r.headers]));
    }
    if (name === 'saApiDown') api.failNextReview(500);
    await hub.grpc('Register', register('web'), token).then(
      (res) => answers.push(JSON.stringify(res)),
      (err: grpc.ServiceError) => answers.push(err.details, JSON.stringify(err.metadata.getMap())),
    );
  }
  answers.push((await hub.rest('GET', '/metrics', tokens.admin)).text);

  const log = hub.logText();
  // The calls did reach the checks that could have leaked them.
  t.regex(log, /JWT refused: token expired at/);
  t.regex(log, /claim \\"role\\" \(auth\.jwt\.role_claim\)/);
  t.regex(log, /the Kubernetes API server cannot be asked \(it answered HTTP 500\)/);
  t.regex(log, /did not authenticate it/);
  t.regex(log, /"who":"system:serviceaccount:shop:web"/);
  t.regex(log, /"who":"jwt-user"/);
  t.true(api.reviews.length >= 4);

  const everything = [log, ...answers].join('\n');
  for (const [name, token] of Object.entries(tokens)) {
    t.false(everything.includes(token), `${name} appears`);
    // A JWT's signature is what makes it a credential; static tokens have no parts.
    const signature = token.split('.')[2];
    if (signature !== undefined) t.false(everything.includes(signature), `the signature of ${name} appears`);
  }
});
