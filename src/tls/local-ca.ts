/**
 * A small CA and the certificates it signs, for trying TLS and mTLS locally (`outrigger certs`,
 * and the tests): made with `selfsigned`, EC P-256 keys unless the CA brings an RSA key. Not a
 * PKI: production certificates come from the user's own CA, cert-manager or SPIFFE/SPIRE.
 */
import { createPrivateKey } from 'node:crypto';
import selfsigned from 'selfsigned';

/** A PEM certificate and its PEM (PKCS#8) private key. */
export interface CertificatePair {
  cert: string;
  key: string;
}

export interface CaOptions {
  commonName: string;
  days: number;
  /** Default: the current time. */
  now?: Date;
}

export interface LeafOptions {
  commonName: string;
  dns?: readonly string[];
  ips?: readonly string[];
  /** URI SANs, such as a SPIFFE id. */
  uris?: readonly string[];
  /** What the certificate may be used for: serving TLS, presenting itself as a TLS client, or both. */
  usage: 'server' | 'client' | 'both';
  days: number;
  now?: Date;
}

const DAY_MS = 86_400_000;
// Valid from a little before now, so a peer whose clock is slightly behind accepts it at once.
const BACKDATE_MS = 5 * 60_000;

function validity(days: number, now: Date): { notBeforeDate: Date; notAfterDate: Date } {
  return { notBeforeDate: new Date(now.getTime() - BACKDATE_MS), notAfterDate: new Date(now.getTime() + days * DAY_MS) };
}

/** A self-signed CA certificate that may sign leaf certificates (and nothing below them). */
export async function createCa(options: CaOptions): Promise<CertificatePair> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: options.commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...validity(options.days, options.now ?? new Date()),
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A certificate signed by `ca`, with a key of the CA's kind (EC, or RSA for a CA with an RSA key). */
export async function issueCertificate(ca: CertificatePair, options: LeafOptions): Promise<CertificatePair> {
  const keyType = createPrivateKey(ca.key).asymmetricKeyType === 'rsa' ? 'rsa' : 'ec';
  const altNames = [
    ...(options.dns ?? []).map((value) => ({ type: 2 as const, value })),
    ...(options.ips ?? []).map((ip) => ({ type: 7 as const, ip })),
    ...(options.uris ?? []).map((value) => ({ type: 6 as const, value })),
  ];
  const pems = await selfsigned.generate([{ name: 'commonName', value: options.commonName }], {
    keyType,
    algorithm: 'sha256',
    ...validity(options.days, options.now ?? new Date()),
    ca: { cert: ca.cert, key: ca.key },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      // EC keys sign; only RSA key exchange enciphers with the key.
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: keyType === 'rsa', critical: true },
      { name: 'extKeyUsage', serverAuth: options.usage !== 'client', clientAuth: options.usage !== 'server' },
      ...(altNames.length > 0 ? [{ name: 'subjectAltName' as const, altNames }] : []),
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

