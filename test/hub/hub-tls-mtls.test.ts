import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { createCa, issueCertificate } from '../../src/tls/local-ca.js';
import { metricValue } from '../helpers/grpc-hub.js';
import { httpsCall, makePki, startTlsHub, TestSession, tlsRegistryClient, type Pki } from '../helpers/tls-hub.js';

const web = { id: 'web-1', service: 'web', namespace: 'shop.svc.cluster.local', address: '10.0.0.1', port: 8080 };
const SPIFFE_WEB = 'spiffe://cluster.local/ns/shop/sa/web';

async function hubWith(pki: Pki, clientAuth: 'optional' | 'require') {
  const hub = await startTlsHub({ tls: { cert_file: pki.hub.cert, key_file: pki.hub.key, client_ca_file: pki.ca.cert, client_auth: clientAuth } });
  return hub;
}

/** A certificate for the same name from a CA the hub does not trust. */
async function strangerCertificate() {
  const other = await createCa({ commonName: 'Someone else', days: 1 });
  return issueCertificate(other, { commonName: 'web', uris: [SPIFFE_WEB], usage: 'client', days: 1 });
}

test('client_auth require: a REST client without a certificate, or with one from another CA, is refused at the handshake', async (t) => {
  const pki = await makePki();
  const { hub, at, stop } = await hubWith(pki, 'require');
  t.teardown(stop);
  const ca = pki.ca.pem.cert;

  const bare = await t.throwsAsync(httpsCall(at.http, '/api/v1/auth/whoami', { ca }));
  t.regex(bare!.message, /alert certificate required/, bare!.message);
  const stranger = await t.throwsAsync(httpsCall(at.http, '/api/v1/auth/whoami', { ca, client: await strangerCertificate() }));
  t.regex(stranger!.message, /unknown ca|ECONNRESET|socket hang up/, stranger!.message);
  // Refused before any request was read: nothing reached the REST handler, not even as a 401.
  t.is(await metricValue(hub.metrics.requests, { api: 'rest' }), 0);
  t.is(await metricValue(hub.metrics.authRefusals, { api: 'rest', code: 'unauthenticated' }), 0);

  const webCert = await pki.issue('web', { uris: [SPIFFE_WEB], usage: 'client' });
  const ok = await httpsCall(at.http, '/api/v1/auth/whoami', { ca, client: webCert.pem });
  t.is(ok.status, 200);
  t.like(ok.json.data, { kind: 'certificate', name: SPIFFE_WEB, role: 'service' });
});

test('client_auth require: a gRPC client without a certificate is refused at the handshake, one with a certificate registers', async (t) => {
  const pki = await makePki();
  const { hub, at, stop } = await hubWith(pki, 'require');
  const bare = tlsRegistryClient(at.grpc, { ca: pki.ca.cert });
  const webCert = await pki.issue('web', { uris: [SPIFFE_WEB], usage: 'client' });
  const withCert = tlsRegistryClient(at.grpc, { ca: pki.ca.cert, client: webCert });
  t.teardown(async () => {
    bare.close();
    withCert.close();
    await stop();
  });

  const refused = new TestSession(bare);
  refused.call.write({ nonce: 1, register: web });
  const err = await refused.failure();
  t.is(err.code, grpc.status.UNAVAILABLE, err.details);
  t.regex(err.details, /certificate required/);
  t.is(hub.registry.getInstance('web-1'), undefined);

  const session = new TestSession(withCert);
  const ack = await session.send({ register: web });
  t.is(ack.error, undefined, JSON.stringify(ack.error));
  t.is(hub.registry.getInstance('web-1')?.service, 'web');
  session.call.cancel();
});

test('client_auth optional: a client without a certificate is judged by its token, and an unverified certificate proves nothing', async (t) => {
  const pki = await makePki();
  const { at, adminToken, stop } = await hubWith(pki, 'optional');
  const ca = pki.ca.pem.cert;
  const bareGrpc = tlsRegistryClient(at.grpc, { ca: pki.ca.cert });
  const tokenGrpc = tlsRegistryClient(at.grpc, { ca: pki.ca.cert, token: adminToken });
  t.teardown(async () => {
    bareGrpc.close();
    tokenGrpc.close();
    await stop();
  });

  const none = await httpsCall(at.http, '/api/v1/auth/whoami', { ca });
  t.is(none.status, 401);
  t.is(none.json.error.code, 'unauthenticated');
  const token = await httpsCall(at.http, '/api/v1/auth/whoami', { ca, token: adminToken });
  t.is(token.status, 200);
  t.like(token.json.data, { kind: 'token', role: 'admin' });

  // Let through the handshake, but not trusted: no identity from it.
  const stranger = await strangerCertificate();
  const unverified = await httpsCall(at.http, '/api/v1/auth/whoami', { ca, client: stranger });
  t.is(unverified.status, 401, JSON.stringify(unverified.json));
  const unverifiedWithToken = await httpsCall(at.http, '/api/v1/auth/whoami', { ca, client: stranger, token: adminToken });
  t.like(unverifiedWithToken.json.data, { kind: 'token', role: 'admin' });

  const trusted = await httpsCall(at.http, '/api/v1/auth/whoami', { ca, client: (await pki.issue('web', { uris: [SPIFFE_WEB], usage: 'client' })).pem });
  t.like(trusted.json.data, { kind: 'certificate', name: SPIFFE_WEB });

  const refused = new TestSession(bareGrpc);
  refused.call.write({ nonce: 1, register: web });
  const err = await refused.failure();
  t.is(err.code, grpc.status.UNAUTHENTICATED, err.details);
  const session = new TestSession(tokenGrpc);
  const ack = await session.send({ register: web });
  t.is(ack.error, undefined, JSON.stringify(ack.error));
  session.call.cancel();
});
