import test from 'ava';
import { makePki, startTlsHub } from '../helpers/tls-hub.js';

const plaintextWarning = (logs: Array<Record<string, unknown>>) => logs.filter((l) => l.level === 'warn' && /plaintext/.test(String(l.msg)));

test('the hub says at start whether TLS and mTLS are on', async (t) => {
  const pki = await makePki();
  const { at, logs, stop } = await startTlsHub({ tls: { cert_file: pki.hub.cert, key_file: pki.hub.key, client_ca_file: pki.ca.cert, client_auth: 'require' } });
  t.teardown(stop);
  t.regex(at.http, /^https:\/\//);
  const tls = logs.find((l) => l.component === 'tls' && l.level === 'info');
  t.is(tls?.msg, 'tls: both listeners serve TLS; client certificates: require');
  t.regex(String(tls?.certificate), /IP Address:127\.0\.0\.1/);
  t.is(logs.find((l) => l.msg === 'hub started')?.tls, 'on; client certificates required (mTLS)');
  t.deepEqual(plaintextWarning(logs), []);
});

test('with TLS off and auth on, a hub listening beyond loopback warns in one line that tokens cross the network in plaintext', async (t) => {
  const open = await startTlsHub({ tls: {}, bind: '0.0.0.0' });
  t.teardown(open.stop);
  t.regex(open.at.http, /^http:\/\//);
  t.is(open.logs.find((l) => l.msg === 'hub started')?.tls, 'off');
  const [warning, ...more] = plaintextWarning(open.logs);
  t.regex(String(warning?.msg), /TLS is off .*bearer tokens .* plaintext/);
  t.is(more.length, 0);

  const loopback = await startTlsHub({ tls: {} });
  t.teardown(loopback.stop);
  t.deepEqual(plaintextWarning(loopback.logs), [], 'on loopback nothing crosses a network');
});
