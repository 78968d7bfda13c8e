/**
 * Certificates and keys on disk as `outrigger certs` writes them: `<name>.pem` beside
 * `<name>-key.pem`, the key readable only by its owner. Existing files are never overwritten
 * unless asked: a CA key replaced by mistake invalidates every certificate it signed.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OutriggerError } from '../common/errors.js';
import type { CertificatePair } from './local-ca.js';

export interface PairPaths {
  cert: string;
  key: string;
}

export const pairPaths = (dir: string, name: string): PairPaths => ({ cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}-key.pem`) });

function writeNew(file: string, text: string, mode: number, force: boolean): void {
  if (force) {
    // Removed first, so a key is never written into an existing file that others may read.
    try {
      unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  try {
    writeFileSync(file, text, { mode, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new OutriggerError('config_invalid', `--out: ${file} exists; pass --force to overwrite it`, '--out');
    throw new OutriggerError('config_invalid', `--out: cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, '--out');
  }
}

/** Writes the pair into `dir` (made if missing): the certificate mode 0644, the key 0600. */
export function writePair(dir: string, name: string, pair: CertificatePair, force: boolean): PairPaths {
  const paths = pairPaths(dir, name);
  if (!force) {
    // Refuse before writing anything, so a refusal leaves no half of a pair behind.
    const existing = [paths.cert, paths.key].find((file) => existsSync(file));
    if (existing !== undefined) throw new OutriggerError('config_invalid', `--out: ${existing} exists; pass --force to overwrite it`, '--out');
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new OutriggerError('config_invalid', `--out: cannot make the directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, '--out');
  }
  writeNew(paths.key, pair.key, 0o600, force);
  writeNew(paths.cert, pair.cert, 0o644, force);
  return paths;
}

/** The CA that `outrigger certs ca` wrote into `dir`, checked to be a CA whose key matches. */
export function readCa(dir: string): CertificatePair & { paths: PairPaths; subject: string } {
  const paths = pairPaths(dir, 'ca');
  const read = (file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT' ? ' (make one with `outrigger certs ca --out <dir>`)' : '';
      throw new OutriggerError('config_invalid', `--ca: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}${missing}`, '--ca');
    }
  };
  const cert = read(paths.cert);
  const key = read(paths.key);
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(cert);
    if (!ca.checkPrivateKey(createPrivateKey(key))) throw new Error(`the key in ${paths.key} does not belong to ${paths.cert}`);
  } catch (err) {
    throw new OutriggerError('config_invalid', `--ca: ${(err as Error).message}`, '--ca');
  }
  if (!ca.ca) throw new OutriggerError('config_invalid', `--ca: ${paths.cert} is not a CA certificate (basicConstraints CA:TRUE)`, '--ca');
  return { cert, key, paths, subject: ca.subject.replaceAll('\n', ', ') };
}
