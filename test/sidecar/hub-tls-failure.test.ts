import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { hubTlsFailure } from '../../src/sidecar/hub-tls-failure.js';
import { writePair } from '../../src/tls/cert-files.js';
import { createCa } from '../../src/tls/local-ca.js';
import { makePki, startTlsHub, TestSession, tlsRegistryClient } from '../helpers/tls-hub.js';

/** How a failed Session to a real TLS hub reads, as the registrar reports a lost session. */
async function failure(address: string, o: Parameters<typeof tlsRegistryClient>[1]): Promise<string> {
  const client = tlsRegistryClient(address, o);
  try {
    const session = new TestSession(client);
    session.call.write({ nonce: 1, heartbeat: { id: 'x' } });
    const err = await session.failure();
    return `${grpc.status[err.code]}: ${err.details}`;
  } finally {
    client.close();
  }
}

test('each way a TLS handshake with the hub fails is named with what to check', async (t) => {
  const pki = await makePki();
  const { at, stop } = await startTlsHub({ tls: { cert_file: pki.hub.cert, key_file: pki.hub.key, client_ca_file: pki.ca.cert, client_auth: 'require' } });
  t.teardown(stop);
  const client = await pki.issue('web', { usage: 'client' });
  const strangerCa = await createCa({ commonName: 'Someone else', days: 1 });
  const stranger = writePair(pki.dir, 'stranger-ca', strangerCa, false);

  const cases: Array<[string, Parameters<typeof tlsRegistryClient>[1], RegExp]> = [
    ['no client certificate', { ca: pki.ca.cert }, /refused this sidecar's client certificate/],
    ['a hub certificate from another CA', { ca: stranger.cert, client }, /does not chain to hub_tls\.ca_file/],
    ['a name the certificate does not carry', { ca: pki.ca.cert, client, serverName: 'hub.example.com' }, /set hub_tls\.server_name/],
  ];
  for (const [what, options, hint] of cases) {
    const reason = await failure(at.grpc, options);
    const said = hubTlsFailure(reason);
    t.truthy(said, `${what}: ${reason}`);
    t.regex(said!, hint, `${what}: ${reason}`);
    t.notRegex(said!, /Resolution note/);
  }
  t.is(hubTlsFailure('UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1 (2026-01-01T00:00:00.000Z). Resolution note: '), undefined, 'a hub that is down is not a TLS failure');
});
