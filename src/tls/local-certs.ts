/**
 * What `outrigger certs` does: makes a local CA, a serving certificate for the hub, or a client
 * certificate for a workload (a sidecar, curl), writes them as files, and says how to use them.
 */
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import { z } from 'zod';
import { OutriggerError } from '../common/errors.js';
import { parseWith } from '../model/parse-input.js';
import { SPIFFE_ID } from '../model/workload-names.js';
import { readCa, writePair, type PairPaths } from './cert-files.js';
import { createCa, issueCertificate } from './local-ca.js';

export const CERT_KINDS = ['ca', 'hub', 'workload'] as const;
export type CertKind = (typeof CERT_KINDS)[number];

const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const FILE_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const DEFAULT_HUB_SANS = { dns: ['localhost'], ips: ['127.0.0.1', '::1'] };

const flagsSchema = z.strictObject({
  '--out': z.string().min(1, { error: 'must be a directory' }).default('.'),
  '--ca': z.string().min(1, { error: 'must be the directory `outrigger certs ca` wrote' }).optional(),
  '--cn': z.string().min(1, { error: 'must not be empty' }).max(64, { error: 'must be at most 64 characters (an X.509 common name)' }).optional(),
  '--name': z.string().regex(FILE_NAME, { error: 'must be a file name: letters, digits, ".", "_" or "-"' }).optional(),
  '--dns': z.array(z.string().regex(DNS_NAME, { error: 'must be a DNS name such as localhost or hub.example.com' })).default([]),
  '--ip': z.array(z.string().refine((s) => net.isIP(s) !== 0, { error: 'must be an IPv4 or IPv6 address' })).default([]),
  '--spiffe': z.string().regex(SPIFFE_ID, { error: 'must be a SPIFFE id: spiffe://<trust domain>/ns/<namespace>/sa/<service account>, segments of letters, digits, ".", "-", "_"' }).optional(),
  '--days': z
    .string()
    .regex(/^\d{1,6}$/, { error: 'must be a whole number of days from 1 to 36500' })
    .transform(Number)
    .refine((n) => n >= 1 && n <= 36_500, { error: 'must be a whole number of days from 1 to 36500' })
    .optional(),
  '--force': z.boolean().default(false),
});

export type CertsFlags = z.input<typeof flagsSchema>;

/** Which flags each kind takes: the others are refused rather than ignored. */
const TAKES: Record<CertKind, ReadonlySet<string>> = {
  ca: new Set(['--out', '--cn', '--days', '--force']),
  hub: new Set(['--ca', '--out', '--cn', '--name', '--dns', '--ip', '--days', '--force']),
  workload: new Set(['--ca', '--out', '--cn', '--name', '--spiffe', '--days', '--force']),
};

/** Makes what `kind` asks for and writes it; returns the report printed for the user. */
export async function makeLocalCertificates(kind: CertKind, input: CertsFlags, now = new Date()): Promise<string> {
  for (const [flag, value] of Object.entries(input)) {
    const given = Array.isArray(value) ? value.length > 0 : value !== undefined && value !== false;
    if (given && !TAKES[kind].has(flag)) throw new OutriggerError('config_invalid', `${flag}: not an option of \`outrigger certs ${kind}\`; see --help`, flag);
  }
  const flags = parseWith(flagsSchema, input, '', 'config_invalid');
  const out = flags['--out'];
  if (kind === 'ca') {
    const days = flags['--days'] ?? 3650;
    const pair = await createCa({ commonName: flags['--cn'] ?? 'Outrigger local CA', days, now });
    const paths = writePair(out, 'ca', pair, flags['--force']);
    return [
      ...wrote(paths, pair.cert, 'CA certificate'),
      '',
      'next:',
      `  outrigger certs hub --ca ${out} --out ${out}`,
      `  outrigger certs workload --ca ${out} --out ${out} --spiffe spiffe://cluster.local/ns/<namespace>/sa/<service>`,
      '',
    ].join('\n');
  }
  if (kind === 'workload' && flags['--spiffe'] === undefined && flags['--cn'] === undefined) {
    throw new OutriggerError('config_invalid', '--spiffe or --cn: a workload certificate needs an identity: --spiffe spiffe://<trust domain>/ns/<namespace>/sa/<service account>, or --cn <name> bound in auth.bindings', '--spiffe');
  }
  const caDir = flags['--ca'] ?? out;
  const ca = readCa(caDir);
  const days = flags['--days'] ?? 365;
  if (kind === 'hub') {
    const given = flags['--dns'].length + flags['--ip'].length > 0;
    const dns = given ? flags['--dns'] : DEFAULT_HUB_SANS.dns;
    const ips = given ? flags['--ip'] : DEFAULT_HUB_SANS.ips;
    const pair = await issueCertificate(ca, { commonName: flags['--cn'] ?? dns[0] ?? 'outrigger-hub', dns, ips, usage: 'server', days, now });
    const paths = writePair(out, flags['--name'] ?? 'hub', pair, flags['--force']);
    return [
      ...wrote(paths, pair.cert, `hub certificate signed by ${ca.subject}`),
      '',
      'use it:',
      `  outrigger hub --tls.cert-file ${paths.cert} --tls.key-file ${paths.key}`,
      `  add --tls.client-ca-file ${ca.paths.cert} --tls.client-auth require (or optional) for mTLS`,
      `  clients trust ${ca.paths.cert}: curl --cacert ${ca.paths.cert}, sidecar --hub-tls.ca-file ${ca.paths.cert}`,
      '',
    ].join('\n');
  }
  const spiffe = flags['--spiffe'];
  const cn = flags['--cn'];
  const name = flags['--name'] ?? fileNameFor(spiffe, cn);
  const pair = await issueCertificate(ca, { commonName: cn ?? name, uris: spiffe !== undefined ? [spiffe] : [], usage: 'both', days, now });
  const paths = writePair(out, name, pair, flags['--force']);
  return [
    ...wrote(paths, pair.cert, `client certificate signed by ${ca.subject}`),
    '',
    'use it:',
    `  outrigger sidecar --hub-tls.enabled true --hub-tls.ca-file ${ca.paths.cert} --hub-tls.cert-file ${paths.cert} --hub-tls.key-file ${paths.key} ...`,
    `  curl --cacert ${ca.paths.cert} --cert ${paths.cert} --key ${paths.key} https://127.0.0.1:15080/api/v1/auth/whoami`,
    `  the hub trusts it with --tls.client-ca-file ${ca.paths.cert} --tls.client-auth require (or optional)`,
    '',
  ].join('\n');
}

/** A file name from the identity: the ServiceAccount of a SPIFFE id, else the CN. */
function fileNameFor(spiffe: string | undefined, cn: string | undefined): string {
  const fromSpiffe = spiffe !== undefined ? (/\/sa\/([^/]+)$/.exec(spiffe)?.[1] ?? spiffe.split('/').pop()) : undefined;
  const raw = fromSpiffe ?? cn ?? 'workload';
  const safe = raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 100);
  return safe === '' ? 'workload' : safe;
}

function wrote(paths: PairPaths, certPem: string, what: string): string[] {
  const cert = new X509Certificate(certPem);
  const names = cert.subjectAltName ?? cert.subject.replaceAll('\n', ', ');
  const width = Math.max(paths.cert.length, paths.key.length);
  return [
    `wrote ${paths.cert.padEnd(width)}  ${what}: ${names}; valid until ${new Date(cert.validTo).toISOString().slice(0, 10)}`,
    `wrote ${paths.key.padEnd(width)}  its private key, readable only by you (mode 0600)`,
  ];
}

