import { writeFileSync } from 'node:fs';
import test from 'ava';
import { OutriggerError } from '../../src/common/errors.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { metricValue } from '../helpers/grpc-hub.js';
import { httpsCall, makePki, servedCertificate, startTlsHub, TestSession, tlsRegistryClient } from '../helpers/tls-hub.js';

const RELOAD_MS = 5000;
const SPIFFE_WEB = 'spiffe://cluster.local/ns/shop/sa/web';
const web = { id: 'web-1', service: 'web', namespace: 'shop.svc.cluster.local', address: '10.0.0.1', port: 8080 };

test('replacing the certificate and key keeps open Session streams; new connections get the new certificate; a bad file keeps the last good one', async (t) => {
  const pki = await makePki();
  const clock = new ManualClock();
  const { hub, at, logs, stop } = await startTlsHub(
    { tls: { cert_file: pki.hub.cert, key_file: pki.hub.key, client_ca_file: pki.ca.cert, client_auth: 'require', reload_interval: `${RELOAD_MS}ms` } },
    clock,
  );
  const webCert = await pki.issue('web', { uris: [SPIFFE_WEB], usage: 'client' });
  const first = tlsRegistryClient(at.grpc, { ca: pki.ca.cert, client: webCert });
  let second: ReturnType<typeof tlsRegistryClient> | undefined;
  t.teardown(async () => {
    first.close();
    second?.close();
    const stopped = stop();
    clock.advance(2000); // the hub's grace period before it forces the gRPC listener shut
    await stopped;
  });
  const ca = pki.ca.pem.cert;
  const tlsOf = { ca, client: webCert.pem };

  const session = new TestSession(first);
  t.is((await session.send({ register: web })).error, undefined);
  const before = (await servedCertificate(at.grpc, tlsOf)).fingerprint256;
  t.is((await httpsCall(at.http, '/health', tlsOf)).served.fingerprint256, before);

  // A new pair, written over the old files, as a rotation does.
  await pki.issue('hub', { dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
  clock.advance(RELOAD_MS);
  t.is(await metricValue(hub.metrics.tlsReloads, { result: 'ok' }), 1);

  const beat = await session.send({ heartbeat: { id: 'web-1', health: 'HEALTHY' } });
  t.is(beat.error, undefined, 'the stream opened before the reload still answers');
  t.is(session.error, undefined);
  const afterGrpc = await servedCertificate(at.grpc, tlsOf);
  const afterRest = await httpsCall(at.http, '/health', tlsOf);
  t.not(afterGrpc.fingerprint256, before, 'a new gRPC connection gets the new certificate');
  t.is(afterRest.served.fingerprint256, afterGrpc.fingerprint256, 'and so does a new REST connection');
  second = tlsRegistryClient(at.grpc, { ca: pki.ca.cert, client: webCert });
  const fresh = new TestSession(second);
  t.is((await fresh.send({ register: { ...web, id: 'web-2' } })).error, undefined, 'a new client registers over the new certificate');

  // A half-written certificate: refused, logged, counted; the listeners keep serving the last good one.
  writeFileSync(pki.hub.cert, '-----BEGIN CERTIFICATE-----\nnot base64\n');
  clock.advance(RELOAD_MS);
  t.is(await metricValue(hub.metrics.tlsReloads, { result: 'error' }), 1);
  const line = logs.find((l) => l.level === 'error' && /keeping the last good/.test(String(l.msg)));
  t.regex(String(line?.error), /^tls\.cert_file: /);
  t.is((await servedCertificate(at.grpc, tlsOf)).fingerprint256, afterGrpc.fingerprint256);
  t.is((await httpsCall(at.http, '/health', tlsOf)).served.fingerprint256, afterGrpc.fingerprint256);
  t.is((await session.send({ heartbeat: { id: 'web-1' } })).error, undefined);
  session.call.cancel();
  fresh.call.cancel();
});

test('a certificate file that cannot be used stops the start with config_invalid naming its key', async (t) => {
  const pki = await makePki();
  const other = await pki.issue('other', { dns: ['localhost'], usage: 'server' });
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ cert_file: `${pki.dir}/missing.pem`, key_file: pki.hub.key }, 'tls.cert_file', /cannot read .*missing\.pem: ENOENT/],
    [{ cert_file: pki.hub.cert, key_file: other.key }, 'tls.key_file', /does not belong to the certificate/],
    [{ cert_file: pki.hub.cert, key_file: pki.hub.key, client_ca_file: pki.hub.key, client_auth: 'optional' }, 'tls.client_ca_file', /holds no PEM certificate/],
  ];
  for (const [tls, key, why] of cases) {
    const err = await t.throwsAsync(startTlsHub({ tls }), { instanceOf: OutriggerError });
    t.is((err as OutriggerError).code, 'config_invalid');
    t.is((err as OutriggerError).field, key);
    t.regex(err!.message, why);
  }
});
