/**
 * A certificate chain, its private key and, for mTLS, a CA bundle, read from PEM files and
 * checked the way TLS will use them, so a file that would break the listener is refused with the
 * config key that names it: at start as a config error, at a reload as the reason the last good
 * files are kept.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { OutriggerError } from '../common/errors.js';

export interface TlsPaths {
  certFile: string;
  keyFile: string;
  /** CA bundle that client certificates must chain to; empty: none (no mTLS). */
  caFile: string;
}

/** The config keys of the three files, as errors name them (`tls.cert_file`, ...). */
export interface TlsKeys {
  cert: string;
  key: string;
  ca: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
  /** The serving certificate: the first of the chain. */
  leaf: X509Certificate;
  /** The certificates of the CA bundle. */
  caCertificates: readonly X509Certificate[];
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

const invalid = (key: string, message: string): OutriggerError => new OutriggerError('config_invalid', `${key}: ${message}`, key);

function readFor(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw invalid(key, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Every certificate of a PEM file; at least one. */
export function parseCertificates(pem: Buffer, key: string, path: string): X509Certificate[] {
  const blocks = pem.toString('utf8').match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) throw invalid(key, `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw invalid(key, `certificate ${i + 1} of ${path} does not parse: ${(err as Error).message}`);
    }
  });
}

function parseKey(pem: Buffer, key: string, path: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(pem.toString('utf8')) ? ' (an encrypted key is not supported: decrypt it first)' : '';
    throw invalid(key, `${path} is not a PEM private key${encrypted}: ${(err as Error).message}`);
  }
}

/** Reads and checks the files; throws `config_invalid` naming the key of the file at fault. */
export function loadTlsMaterial(paths: TlsPaths, keys: TlsKeys): TlsMaterial {
  const cert = readFor(keys.cert, paths.certFile);
  const key = readFor(keys.key, paths.keyFile);
  const ca = paths.caFile !== '' ? readFor(keys.ca, paths.caFile) : undefined;
  const leaf = parseCertificates(cert, keys.cert, paths.certFile)[0]!;
  const privateKey = parseKey(key, keys.key, paths.keyFile);
  if (!leaf.checkPrivateKey(privateKey)) {
    throw invalid(keys.key, `the key in ${paths.keyFile} does not belong to the certificate in ${paths.certFile} (${keys.cert})`);
  }
  const caCertificates = ca !== undefined ? parseCertificates(ca, keys.ca, paths.caFile) : [];
  try {
    // What the listener will build: anything else OpenSSL refuses is caught here, not on a handshake.
    tls.createSecureContext({ cert, key, ...(ca !== undefined ? { ca } : {}) });
  } catch (err) {
    throw invalid(keys.cert, `TLS cannot use ${paths.certFile} with ${paths.keyFile}: ${(err as Error).message}`);
  }
  return { cert, key, ca, leaf, caCertificates };
}

/** How a certificate is named in logs and messages: its subject and SANs. */
export function describeCertificate(cert: X509Certificate): string {
  const subject = cert.subject.replaceAll('\n', ', ');
  return cert.subjectAltName !== undefined ? `${subject} (${cert.subjectAltName})` : subject;
}
