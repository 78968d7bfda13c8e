import test from 'ava';
import { OutriggerError } from '../../src/common/errors.js';
import { hubConfigSchema } from '../../src/config/hub-config.js';
import { parseWith } from '../../src/model/parse-input.js';

const refuses = (t: import('ava').ExecutionContext, config: Record<string, unknown>, field: string, why: RegExp): void => {
  const err = t.throws(() => parseWith(hubConfigSchema, config, '', 'config_invalid'), { instanceOf: OutriggerError });
  t.is(err?.field, field);
  t.regex(err?.message ?? '', why);
};

test('JWTs need an audience: a token the issuer made for another service must not be good here', (t) => {
  const jwt = { enabled: true, issuer: 'https://idp.example', hs256_secret_file: '/etc/outrigger/jwt.secret' };
  refuses(t, { auth: { jwt } }, 'auth.jwt.audience', /is required when auth\.jwt\.enabled is true/);
  t.is(parseWith(hubConfigSchema, { auth: { jwt: { ...jwt, audience: 'outrigger-hub' } } }).auth.jwt.audience, 'outrigger-hub');
  t.is(parseWith(hubConfigSchema, {}).auth.jwt.enabled, false, 'off by default, and then nothing is required');
});

test('a client CA with client_auth none is refused, not silently ignored', (t) => {
  const tls = { cert_file: '/etc/outrigger/hub.pem', key_file: '/etc/outrigger/hub-key.pem', client_ca_file: '/etc/outrigger/ca.pem' };
  refuses(t, { tls }, 'tls.client_auth', /is none, so tls\.client_ca_file would be ignored/);
  t.is(parseWith(hubConfigSchema, { tls: { ...tls, client_auth: 'optional' } }).tls.client_auth, 'optional');
});
