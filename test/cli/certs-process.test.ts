import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { runCli } from '../helpers/cli-process.js';

const exec = promisify(execFile);

async function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('curl', ['--silent', '--show-error', '--max-time', '10', ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function certs(args: string[]): Promise<string> {
  const cli = runCli(['certs', ...args]);
  const code = await cli.exited;
  if (code !== 0) throw new Error(cli.describe());
  return cli.stdout();
}

const mode = (file: string): string => (statSync(file).mode & 0o777).toString(8);

test.serial('outrigger certs as a user runs it: a CA, a hub certificate and a workload certificate; a hub serves them and curl trusts the CA', async (t) => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'outrigger-certs-')), 'certs');
  const at = (f: string): string => path.join(dir, f);

  t.regex(await certs(['ca', '--out', dir]), /wrote .*ca\.pem .*CA certificate: CN=Outrigger local CA/);
  t.regex(await certs(['hub', '--ca', dir, '--out', dir, '--dns', 'localhost', '--ip', '127.0.0.1']), /hub certificate .*DNS:localhost, IP Address:127\.0\.0\.1/);
  const workload = await certs(['workload', '--ca', dir, '--out', dir, '--spiffe', 'spiffe://cluster.local/ns/shop/sa/web']);
  t.regex(workload, /wrote .*web\.pem .*URI:spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web/);
  for (const key of ['ca-key.pem', 'hub-key.pem', 'web-key.pem']) t.is(mode(at(key)), '600', `${key} is readable only by its owner`);
  t.is(mode(at('hub.pem')), '644');

  // Nothing is overwritten by accident: a CA key replaced would orphan every certificate it signed.
  const again = runCli(['certs', 'ca', '--out', dir]);
  t.is(await again.exited, 2);
  t.regex(again.stderr(), /ca\.pem exists; pass --force to overwrite it/);

  const dataDir = mkdtempSync(path.join(tmpdir(), 'outrigger-certs-hub-'));
  const hub = runCli([
    'hub', '--bind', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--dns.listen', 'off', '--log-level', 'warn', '--data-dir', dataDir,
    '--tls.cert-file', at('hub.pem'), '--tls.key-file', at('hub-key.pem'),
    '--tls.client-ca-file', at('ca.pem'), '--tls.client-auth', 'optional',
  ]);
  t.teardown(() => hub.child.kill('SIGKILL'));
  const [, url] = await hub.waitForOutput(/REST \+ metrics\s+(https:\/\/\S+)/);
  await hub.waitForOutput(/TLS\s+on; client certificates optional \(mTLS\)/);
  const token = readFileSync(path.join(dataDir, 'bootstrap-token'), 'utf8').trim();

  const admin = await curl(['--cacert', at('ca.pem'), '-H', `Authorization: Bearer ${token}`, `${url}/api/v1/auth/whoami`]);
  t.is(admin.code, 0, admin.stderr);
  t.like(JSON.parse(admin.stdout).data, { kind: 'token', role: 'admin' });
  const byCert = await curl(['--cacert', at('ca.pem'), '--cert', at('web.pem'), '--key', at('web-key.pem'), `${url}/api/v1/auth/whoami`]);
  t.is(byCert.code, 0, byCert.stderr);
  t.like(JSON.parse(byCert.stdout).data, { kind: 'certificate', name: 'spiffe://cluster.local/ns/shop/sa/web', role: 'service' });
  const untrusted = await curl([`${url}/api/v1/auth/whoami`]);
  t.is(untrusted.code, 60, 'curl without --cacert does not trust the hub (60: peer certificate cannot be authenticated)');

  // outrigger endpoints reaches the https hub with the CA, and says what is missing without it.
  const register = await curl(['--cacert', at('ca.pem'), '--cert', at('web.pem'), '--key', at('web-key.pem'), '-H', 'content-type: application/json',
    '-d', JSON.stringify({ id: 'web-1', name: 'web', namespace: 'shop.svc.cluster.local', address: '10.0.0.1', port: 8080 }), `${url}/api/v1/services`]);
  t.is(register.code, 0, register.stderr);
  const endpoints = runCli(['endpoints', 'web.shop.svc.cluster.local', '--hub', url!, '--ca-file', at('ca.pem')], { OUTRIGGER_TOKEN: token });
  t.is(await endpoints.exited, 0, endpoints.describe());
  t.regex(endpoints.stdout(), /^web-1\s+10\.0\.0\.1:8080\s+HEALTHY/m);
  // No token: the client certificate alone is the caller (a service role reads every service).
  const byClientCert = runCli(['endpoints', 'web.shop.svc.cluster.local', '--hub', url!, '--ca-file', at('ca.pem'), '--cert-file', at('web.pem'), '--key-file', at('web-key.pem')], { OUTRIGGER_TOKEN: '' });
  t.is(await byClientCert.exited, 0, byClientCert.describe());
  t.regex(byClientCert.stdout(), /^web-1\s+10\.0\.0\.1:8080/m);
  const noCa = runCli(['endpoints', 'web.shop.svc.cluster.local', '--hub', url!], { OUTRIGGER_TOKEN: token });
  t.is(await noCa.exited, 2);
  t.regex(noCa.stderr(), /cannot reach the hub at https:.*certificate.*\(give the hub's CA with --ca-file\)/);

  hub.child.kill('SIGTERM');
  t.is(await hub.exited, 0);
});

test.serial('outrigger certs refuses bad input naming the flag, and writes nothing', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-certs-bad-'));
  const cases: Array<[string[], RegExp]> = [
    [['hub', '--out', dir], /--ca: cannot read .*ca\.pem: ENOENT \(make one with `outrigger certs ca --out <dir>`\)/],
    [['ca', '--out', dir, '--days', '0'], /--days: must be a whole number of days from 1 to 36500/],
    [['ca', '--out', dir, '--spiffe', 'spiffe://x/y'], /--spiffe: not an option of `outrigger certs ca`/],
    [['workload', '--out', dir], /--spiffe or --cn: a workload certificate needs an identity/],
    [['certificate'], /unknown "certificate": say ca, hub or workload/],
  ];
  for (const [args, why] of cases) {
    const cli = runCli(['certs', ...args]);
    t.is(await cli.exited, 2, cli.describe());
    t.regex(cli.stderr(), why);
  }
  await certs(['ca', '--out', dir]);
  const badIp = runCli(['certs', 'hub', '--out', dir, '--ip', '300.1.1.1']);
  t.is(await badIp.exited, 2);
  t.regex(badIp.stderr(), /--ip\[0\]: must be an IPv4 or IPv6 address, got "300\.1\.1\.1"/);
  t.throws(() => statSync(path.join(dir, 'hub.pem')), { code: 'ENOENT' });
  const wildcard = runCli(['certs', 'workload', '--ca', dir, '--out', dir, '--spiffe', 'spiffe://cluster.local/ns/shop/sa/pay*']);
  t.is(await wildcard.exited, 2);
  t.regex(wildcard.stderr(), /--spiffe: must be a SPIFFE id: .*segments of letters, digits/);
  t.throws(() => statSync(path.join(dir, 'pay*.pem')), { code: 'ENOENT' });
});
