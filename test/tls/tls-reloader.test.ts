import { unlinkSync, writeFileSync } from 'node:fs';
import test from 'ava';
import { createLogger } from '../../src/common/logger.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { TlsReloader, type TlsReloadResult } from '../../src/tls/tls-reloader.js';
import { makePki } from '../helpers/tls-hub.js';

const KEYS = { cert: 'tls.cert_file', key: 'tls.key_file', ca: 'tls.client_ca_file' };

async function setUp() {
  const pki = await makePki();
  const clock = new ManualClock();
  const errors: string[] = [];
  const results: TlsReloadResult[] = [];
  const logger = createLogger('error', {}, { write: (line) => errors.push(String((JSON.parse(line) as { error: string }).error)) });
  const reloader = new TlsReloader({
    paths: { certFile: pki.hub.cert, keyFile: pki.hub.key, caFile: pki.ca.cert },
    keys: KEYS,
    clock,
    logger,
    intervalMs: 1000,
    onReload: (result) => results.push(result),
  });
  reloader.start();
  return { pki, clock, errors, results, reloader };
}

test('a rotation written file by file is refused while the key does not match, then taken when it does', async (t) => {
  const { pki, clock, errors, results, reloader } = await setUp();
  const served: string[] = [];
  reloader.onChange((m) => served.push(m.leaf.fingerprint256));
  const original = reloader.current.leaf.fingerprint256;
  // The pair is made elsewhere, then copied in: the certificate first.
  const next = await pki.issue('next', { dns: ['localhost'], usage: 'server' });
  writeFileSync(pki.hub.cert, next.pem.cert);
  clock.advance(1000);
  t.deepEqual(results, ['error']);
  t.regex(errors[0]!, /^tls\.key_file: the key in .* does not belong to the certificate/);
  t.is(reloader.current.leaf.fingerprint256, original, 'the last good pair is kept');
  t.deepEqual(served, []);

  clock.advance(1000);
  t.deepEqual(results, ['error'], 'nothing changed since: no second attempt, no second log line');
  writeFileSync(pki.hub.key, next.pem.key);
  clock.advance(1000);
  t.deepEqual(results, ['error', 'ok']);
  t.not(reloader.current.leaf.fingerprint256, original);
  t.deepEqual(served, [reloader.current.leaf.fingerprint256]);
  reloader.close();
});

test('a file that disappears keeps the last good material until it is back', async (t) => {
  const { pki, clock, errors, results, reloader } = await setUp();
  const ca = pki.ca.pem.cert;
  unlinkSync(pki.ca.cert);
  clock.advance(1000);
  t.deepEqual(results, ['error']);
  t.regex(errors[0]!, /^tls\.client_ca_file: cannot read .*: ENOENT/);
  t.truthy(reloader.current.ca);
  writeFileSync(pki.ca.cert, ca);
  clock.advance(1000);
  t.deepEqual(results, ['error', 'ok']);
  reloader.close();
  clock.advance(5000);
  t.deepEqual(results, ['error', 'ok'], 'closed: no more polls');
});
