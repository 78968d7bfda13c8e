import test from 'ava';
import { httpsCall, makePki, startTlsHub, TestSession, tlsRegistryClient } from '../helpers/tls-hub.js';

const NS = 'shop.svc.cluster.local';
const instance = (service: string, id: string) => ({ id, service, namespace: NS, address: '10.0.0.9', port: 8080 });

test('a client certificate is the caller: a SPIFFE id registers its own service only, a bound CN gets its role, an unbound CN is refused with the reason', async (t) => {
  const pki = await makePki();
  const { hub, at, stop } = await startTlsHub({
    tls: { cert_file: pki.hub.cert, key_file: pki.hub.key, client_ca_file: pki.ca.cert, client_auth: 'require' },
    auth: { bindings: [{ identity: 'cn:ops-console', role: 'operator', scopes: [NS] }] },
  });
  const ca = pki.ca.pem.cert;
  const web = await pki.issue('web', { uris: ['spiffe://cluster.local/ns/shop/sa/web'], usage: 'client' });
  const ops = await pki.issue('ops-console', { usage: 'client' });
  const intruder = await pki.issue('intruder', { usage: 'client' });
  const grpcWeb = tlsRegistryClient(at.grpc, { ca: pki.ca.cert, client: web });
  t.teardown(async () => {
    grpcWeb.close();
    await stop();
  });

  // REST: its own service, yes; another, no, and nothing changes.
  const own = await httpsCall(at.http, '/api/v1/services', { ca, client: web.pem, method: 'POST', body: instance('web', 'web-1') });
  t.is(own.status, 201, JSON.stringify(own.json));
  const other = await httpsCall(at.http, '/api/v1/services', { ca, client: web.pem, method: 'POST', body: instance('payments', 'pay-1') });
  t.is(other.status, 403);
  t.is(other.json.error.code, 'permission_denied');
  t.regex(other.json.error.message, /payments/);
  t.regex(other.json.error.message, /spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web/);
  t.is(hub.registry.getInstance('pay-1'), undefined);

  // gRPC Session: the same rule; the refusal is an answer on the stream, which stays open.
  const session = new TestSession(grpcWeb);
  const refused = await session.send({ register: instance('payments', 'pay-2') });
  t.is(refused.error?.code, 'permission_denied', JSON.stringify(refused));
  const accepted = await session.send({ register: instance('web', 'web-2') });
  t.is(accepted.error, undefined, JSON.stringify(accepted.error));
  t.is(hub.registry.getInstance('pay-2'), undefined);
  t.is(hub.registry.getInstance('web-2')?.service, 'web');
  session.call.cancel();

  // A CN bound in auth.bindings: its role and scopes.
  const bound = await httpsCall(at.http, '/api/v1/auth/whoami', { ca, client: ops.pem });
  t.is(bound.status, 200);
  t.like(bound.json.data, { name: 'cn:ops-console', kind: 'certificate', role: 'operator', scopes: [NS] });
  const write = await httpsCall(at.http, `/api/v1/namespaces/${NS}/services/cart`, { ca, client: ops.pem, method: 'PUT', body: {} });
  t.is(write.status, 201, JSON.stringify(write.json));

  // Trusted by the CA, but no role: refused, saying why.
  const unbound = await httpsCall(at.http, '/api/v1/auth/whoami', { ca, client: intruder.pem });
  t.is(unbound.status, 401);
  t.is(unbound.json.error.code, 'unauthenticated');
  t.regex(unbound.json.error.message, /cn:intruder.*bound to no role/);
});

test('certificate names never widen a role: a wildcard in a SPIFFE id is no workload, and a URI SAN never matches a CN binding', async (t) => {
  const pki = await makePki();
  const { at, stop } = await startTlsHub({
    tls: { cert_file: pki.hub.cert, key_file: pki.hub.key, client_ca_file: pki.ca.cert, client_auth: 'require' },
    auth: { bindings: [{ identity: 'cn:ops-console', role: 'operator', scopes: [NS] }] },
  });
  t.teardown(stop);
  const ca = pki.ca.pem.cert;
  const wildcard = await pki.issue('pay-star', { uris: ['spiffe://cluster.local/ns/shop/sa/pay*'], usage: 'client' });
  const everything = await pki.issue('all', { uris: ['spiffe://cluster.local/ns/*/sa/*'], usage: 'client' });
  const posing = await pki.issue('posing', { uris: ['cn:ops-console'], usage: 'client' });

  for (const [cert, shown] of [
    [wildcard, /spiffe:\/\/cluster\.local\/ns\/shop\/sa\/pay\*.*bound to no role/],
    [everything, /spiffe:\/\/cluster\.local\/ns\/\*\/sa\/\*.*bound to no role/],
    [posing, /cn:ops-console.*bound to no role/],
  ] as const) {
    const who = await httpsCall(at.http, '/api/v1/auth/whoami', { ca, client: cert.pem });
    t.is(who.status, 401, JSON.stringify(who.json));
    t.is(who.json.error.code, 'unauthenticated');
    t.regex(who.json.error.message, shown);
    const write = await httpsCall(at.http, '/api/v1/services', { ca, client: cert.pem, method: 'POST', body: instance('payments', 'pay-9') });
    t.is(write.status, 401);
  }
});
