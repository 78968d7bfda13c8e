/**
 * The Signature V4 verifier on its own, on a ManualClock: the skew is measured on the hub's
 * Clock, the credential scope must be this hub's, and the config of access keys is checked at
 * parse time and at start.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { SigV4Verifier } from '../../src/cloudmap/sigv4-verifier.js';
import { CloudMapError } from '../../src/cloudmap/cloudmap-errors.js';
import { OutriggerError } from '../../src/common/errors.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { hubConfigSchema } from '../../src/config/hub-config.js';
import { parseWith } from '../../src/model/parse-input.js';
import { startAuthHub } from '../helpers/auth-hub.js';
import { parseScope } from '../../src/auth/scope.js';

const KEY = { accessKeyId: 'AKIATESTKEY000000001', secretAccessKey: 'testSecretKey0123456789abcdefghijklmnopq' };
const SIGNED_AT = Date.UTC(2026, 11, 3, 4, 0, 0);

async function signedRequest(region = 'us-east-1', service = 'servicediscovery') {
  const body = Buffer.from('{"Name":"a.local"}');
  const signer = new SignatureV4({ credentials: KEY, region, service, sha256: Hash.bind(null, 'sha256') });
  const headers = { host: 'hub:15080', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Route53AutoNaming_v20170314.CreateHttpNamespace' };
  const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: 'hub', port: 15080, path: '/', headers, body }, { signingDate: new Date(SIGNED_AT) });
  const lower = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
  return { method: 'POST', target: '/', headers: lower, body };
}

function verifier(clock: ManualClock): SigV4Verifier {
  const v = new SigV4Verifier('us-east-1', clock);
  v.setKeys([{ ...KEY, role: 'operator', scopes: [parseScope('a.local')!] }]);
  return v;
}

test('the skew is measured on the hub clock: up to 5 minutes either way is accepted', async (t) => {
  const clock = new ManualClock(SIGNED_AT + 5 * 60_000);
  const v = verifier(clock);
  const request = await signedRequest();
  t.like(await v.verify(request), { name: KEY.accessKeyId, kind: 'aws-sigv4', role: 'operator', reads: [{ text: 'a.local' }] });
  clock.advance(1000);
  const late = await t.throwsAsync(v.verify(request), { instanceOf: CloudMapError });
  t.is(late?.type, 'InvalidSignatureException');
  t.regex(late!.message, /signature expired: signed at 20261203T040000Z, more than 5 minutes before the hub's time 2026-12-03T04:05:01.000Z/);
  const early = await t.throwsAsync(verifier(new ManualClock(SIGNED_AT - 5 * 60_000 - 1000)).verify(request), { instanceOf: CloudMapError });
  t.regex(early!.message, /not yet current/);
  t.is(early?.code, 'unauthenticated', 'audited and counted as any unauthenticated call');
});

test('a credential scoped to another region or service is refused', async (t) => {
  const v = verifier(new ManualClock(SIGNED_AT));
  t.regex((await t.throwsAsync(v.verify(await signedRequest('eu-west-1'))))!.message, /scoped to region eu-west-1; this hub is us-east-1/);
  t.regex((await t.throwsAsync(v.verify(await signedRequest('us-east-1', 'dynamodb'))))!.message, /scoped to service dynamodb; sign for servicediscovery/);
});

test('access keys are checked at parse time, and an unreadable or short secret fails the start naming the key', async (t) => {
  const refuses = (keys: unknown[], field: string, why: RegExp): void => {
    const err = t.throws(() => parseWith(hubConfigSchema, { cloudmap: { access_keys: keys } }, '', 'config_invalid'), { instanceOf: OutriggerError });
    t.is(err?.field, field);
    t.regex(err?.message ?? '', why);
  };
  refuses([{ access_key_id: 'lower', secret_access_key_file: '/x', role: 'admin' }], 'cloudmap.access_keys[0].access_key_id', /capital letters and digits/);
  refuses([{ access_key_id: KEY.accessKeyId, secret_access_key_file: '/x', role: 'operator' }], 'cloudmap.access_keys[0].scopes', /at least one scope/);
  const key = { access_key_id: KEY.accessKeyId, secret_access_key_file: '/x', role: 'admin' };
  refuses([key, key], 'cloudmap.access_keys', /must not name an access key id twice/);
  const region = t.throws(() => parseWith(hubConfigSchema, { cloudmap: { region: 'mars' } }, '', 'config_invalid'), { instanceOf: OutriggerError });
  t.is(region?.field, 'cloudmap.region');

  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-cloudmap-secret-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = await t.throwsAsync(startAuthHub({ cloudmap: { access_keys: [{ ...key, secret_access_key_file: path.join(dir, 'none') }] } }), { instanceOf: OutriggerError });
  t.regex(missing!.message, /^cloudmap\.access_keys\[0\]\.secret_access_key_file: cannot read/);
  writeFileSync(path.join(dir, 'short'), 'short\n');
  const short = await t.throwsAsync(startAuthHub({ cloudmap: { access_keys: [{ ...key, secret_access_key_file: path.join(dir, 'short') }] } }), { instanceOf: OutriggerError });
  t.regex(short!.message, /at least 16 characters/);
});
