import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import selfsigned from 'selfsigned';
import { OutriggerError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { InjectorConfig } from '../../config/injector-config.js';

export interface TlsMaterial {
  /** PEM certificate (chain). */
  cert: string;
  /** PEM private key. */
  key: string;
  selfSigned: boolean;
}

const SELF_SIGNED_DAYS = 365;

function readPem(key: 'tls_cert_file' | 'tls_key_file', file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new OutriggerError('config_invalid', `${key}: ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, key);
  }
  if (!text.includes('-----BEGIN ')) throw new OutriggerError('config_invalid', `${key}: ${file} is not a PEM file`, key);
  return text;
}

/**
 * The webhook's certificate and key: from tls_cert_file and tls_key_file when given (the Helm
 * chart mounts them, and the API server trusts them through the webhook's caBundle), else a
 * self-signed one made now, good for trying the webhook locally and nothing else.
 */
export async function loadTls(config: InjectorConfig, logger: Logger): Promise<TlsMaterial> {
  if (config.tls_cert_file !== '' && config.tls_key_file !== '') {
    const cert = readPem('tls_cert_file', config.tls_cert_file);
    const key = readPem('tls_key_file', config.tls_key_file);
    return { cert, key, selfSigned: false };
  }
  const now = new Date();
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'outrigger-injector' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + SELF_SIGNED_DAYS * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  logger.warn('no tls_cert_file and tls_key_file given: generated a self-signed certificate for localhost (for trying the webhook locally; the Helm chart supplies a real one)', {
    fingerprint256: new X509Certificate(pems.cert).fingerprint256,
    valid_days: SELF_SIGNED_DAYS,
  });
  return { cert: pems.cert, key: pems.private, selfSigned: true };
}
