/**
 * Kubernetes ServiceAccount tokens at a real hub (REST and gRPC on loopback), checked with
 * TokenReviews against a loopback fake of the Kubernetes API. The hub runs on a ManualClock, so
 * the reuse of answers is driven by the test.
 */
import * as grpc from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import { startAuthHubFor, type AuthHub } from '../helpers/auth-hub.js';
import { registrySnapshot } from '../helpers/http-registry-snapshot.js';
import { FakeKubeApi, serviceAccountTokenText } from '../k8s/helpers/fake-kube-api.js';

const SHOP = 'shop.svc.cluster.local';

interface Fixture {
  api: FakeKubeApi;
  clock: ManualClock;
  hub: AuthHub;
  token(namespace: string, name: string): string;
}

async function fixture(t: ExecutionContext, kubeconfig?: string): Promise<Fixture> {
  const api = await FakeKubeApi.start();
  t.teardown(() => api.close());
  const clock = new ManualClock();
  const hub = await startAuthHubFor(t, {
      auth: {
        kubernetes: { enabled: true, kubeconfig: kubeconfig ?? api.writeKubeconfig(), cache_ttl: '60s' },
        bindings: [{ identity: 'system:serviceaccount:ops:deployer', role: 'operator', scopes: [SHOP] }],
      },
    },
    { clock },
  );
  return {
    api,
    clock,
    hub,
    token(namespace, name) {
      const text = serviceAccountTokenText(namespace, name, clock.now() + 3_600_000);
      api.addServiceAccountToken(text, namespace, name);
      return text;
    },
  };
}

const registration = (service: string, namespace = SHOP) => ({ id: `${service}-1`, service, namespace, address: '10.1.0.7', port: 8080 });

test('a ServiceAccount token registers its own service over REST and gRPC, and is refused another service or namespace', async (t) => {
  const { hub, token } = await fixture(t);
  const web = token('shop', 'web');
  const who = await hub.rest('GET', '/api/v1/auth/whoami', web);
  t.like(who.json.data, { name: 'system:serviceaccount:shop:web', kind: 'kubernetes', role: 'service', scopes: [`${SHOP}/web`], reads: ['*'] });
  t.is((await hub.rest('POST', '/api/v1/services', web, registration('web'))).status, 201);
  await hub.grpc('Register', { ...registration('web'), id: 'web-2' }, web);
  t.is(hub.hub.registry.instancesOf(SHOP, 'web').length, 2);

  const before = registrySnapshot(hub.hub.registry);
  const payments = await hub.rest('POST', '/api/v1/services', web, registration('payments'));
  t.is(payments.status, 403);
  t.regex(payments.json.error.message, /^instance:write on payments\.shop\.svc\.cluster\.local is not allowed for kubernetes system:serviceaccount:shop:web \(service; scopes shop\.svc\.cluster\.local\/web; reads \*\)$/);
  const err = await t.throwsAsync<grpc.ServiceError>(hub.grpc('Register', registration('web', 'billing.svc.cluster.local'), web));
  t.is(err?.code, grpc.status.PERMISSION_DENIED);
  t.deepEqual(registrySnapshot(hub.hub.registry), before, 'nothing changed');
});

test('a token the API server refuses gets 401 over REST and UNAUTHENTICATED over gRPC, with the reason', async (t) => {
  const { hub, clock } = await fixture(t);
  const unknown = serviceAccountTokenText('shop', 'web', clock.now() + 3_600_000);
  const before = registrySnapshot(hub.hub.registry);
  const r = await hub.rest('POST', '/api/v1/services', unknown, registration('web'));
  t.is(r.status, 401);
  t.is(r.json.error.code, 'unauthenticated');
  t.regex(r.json.error.message, /^ServiceAccount token refused: the Kubernetes API server did not authenticate it: \[invalid bearer token/);
  const err = await t.throwsAsync<grpc.ServiceError>(hub.grpc('Register', registration('web'), unknown));
  t.is(err?.code, grpc.status.UNAUTHENTICATED);
  t.regex(err?.details ?? '', /did not authenticate it/);
  t.deepEqual(registrySnapshot(hub.hub.registry), before);
});

test('the answer is reused across calls and APIs, and asked again once auth.kubernetes.cache_ttl has passed', async (t) => {
  const { hub, api, clock, token } = await fixture(t);
  const web = token('shop', 'web');
  for (let i = 0; i < 5; i++) t.is((await hub.rest('GET', '/api/v1/auth/whoami', web)).status, 200);
  await hub.grpc('Register', registration('web'), web);
  t.is(api.reviews.length, 1, 'one TokenReview for six calls');
  clock.advance(60_000);
  t.is((await hub.rest('GET', '/api/v1/auth/whoami', web)).status, 200);
  t.is(api.reviews.length, 2, 'the cached answer expired and the token was reviewed again');
});

test('a binding gives a ServiceAccount another role: an operator of the whole namespace', async (t) => {
  const { hub, token } = await fixture(t);
  const deployer = token('ops', 'deployer');
  t.like((await hub.rest('GET', '/api/v1/auth/whoami', deployer)).json.data, { name: 'system:serviceaccount:ops:deployer', role: 'operator', scopes: [SHOP] });
  t.is((await hub.rest('POST', '/api/v1/services', deployer, registration('payments'))).status, 201);
  t.is((await hub.rest('PUT', `/api/v1/namespaces/${SHOP}/services/payments`, deployer, { lb_policy: 'least_request' })).status, 200);
});

test('an API server that cannot be reached makes the call UNAVAILABLE (503), not unauthenticated', async (t) => {
  const gone = await FakeKubeApi.start();
  const { hub, clock } = await fixture(t, gone.writeKubeconfig());
  // Stopped once the hub has loaded the kubeconfig pointing at it: nothing listens there now.
  await gone.close();
  const token = serviceAccountTokenText('shop', 'web', clock.now() + 3_600_000);
  const r = await hub.rest('POST', '/api/v1/services', token, registration('web'));
  t.is(r.status, 503);
  t.is(r.json.error.code, 'unavailable');
  t.regex(r.json.error.message, /^cannot verify the ServiceAccount token now: the Kubernetes API server cannot be asked \(ECONNREFUSED\); retry later$/);
  const err = await t.throwsAsync<grpc.ServiceError>(hub.grpc('Register', registration('web'), token));
  t.is(err?.code, grpc.status.UNAVAILABLE);
  t.is(hub.hub.registry.instancesOf(SHOP, 'web').length, 0);
});

test('a hub whose auth.kubernetes.kubeconfig cannot be loaded does not start, and says which key', async (t) => {
  const err = await t.throwsAsync(startAuthHubFor(t, { auth: { kubernetes: { enabled: true, kubeconfig: '/nonexistent/kubeconfig.yaml' } } }));
  t.regex(err?.message ?? '', /^auth\.kubernetes\.kubeconfig: cannot load \/nonexistent\/kubeconfig\.yaml: ENOENT$/);
});
