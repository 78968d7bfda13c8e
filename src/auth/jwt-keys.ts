/**
 * The keys JWTs are verified with, read from the files `auth.jwt` names: a shared HS256 secret,
 * PEM public keys (RSA for RS256, P-256 for ES256), and a JWKS file with several keys. A file
 * that cannot be used is a config error naming its key (`auth.jwt.public_key_files[1]`).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, errors, importJWK, type CryptoKey, type JSONWebKeySet, type JWK, type JWSHeaderParameters } from 'jose';
import { OutriggerError } from '../common/errors.js';

/** The algorithms the hub accepts: the AI-CORE seed's HS256, and RS256 / ES256 for public keys. */
export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export interface JwtKeyFiles {
  /** Empty: none. */
  readonly hs256SecretFile: string;
  readonly publicKeyFiles: readonly string[];
  /** Empty: none. */
  readonly jwksFile: string;
}

/** A key a JWT may be verified with, as jose takes it. */
export type VerifyKey = KeyObject | CryptoKey | Uint8Array;

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash, 256 bits. */
const MIN_SECRET_BYTES = 32;
/** What jose requires of RSA keys. */
const MIN_RSA_BITS = 2048;

const configError = (key: string, message: string): OutriggerError => new OutriggerError('config_invalid', `${key}: ${message}`, key);

function read(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw configError(key, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function readSecret(path: string): Uint8Array {
  const key = 'auth.jwt.hs256_secret_file';
  const raw = read(path, key);
  // A file written with echo or by a Kubernetes Secret ends with a newline that is not part of the secret.
  const end = raw.length - (raw.subarray(-2).toString() === '\r\n' ? 2 : raw.subarray(-1).toString() === '\n' ? 1 : 0);
  const secret = raw.subarray(0, end);
  if (secret.length < MIN_SECRET_BYTES) throw configError(key, `the secret in ${path} is ${secret.length} bytes; HS256 needs at least ${MIN_SECRET_BYTES}`);
  return new Uint8Array(secret);
}

function readPublicKey(path: string, index: number): { alg: JwtAlgorithm; key: KeyObject } {
  const key = `auth.jwt.public_key_files[${index}]`;
  const text = read(path, key).toString('utf8');
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw configError(key, `${path} holds a private key; give the hub only the public key (openssl pkey -pubout)`);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(text);
  } catch {
    throw configError(key, `${path} is not a PEM public key ("-----BEGIN PUBLIC KEY-----")`);
  }
  const type = publicKey.asymmetricKeyType;
  const details = publicKey.asymmetricKeyDetails ?? {};
  if (type === 'rsa') {
    if ((details.modulusLength ?? 0) < MIN_RSA_BITS) throw configError(key, `${path} is a ${details.modulusLength}-bit RSA key; RS256 needs at least ${MIN_RSA_BITS} bits`);
    return { alg: 'RS256', key: publicKey };
  }
  if (type === 'ec' && details.namedCurve === 'prime256v1') return { alg: 'ES256', key: publicKey };
  const what = type === 'ec' ? `an EC key on ${details.namedCurve}` : `a ${type} key`;
  throw configError(key, `${path} is ${what}; it must be an RSA key (RS256) or an EC key on P-256 (ES256)`);
}

async function readJwks(path: string): Promise<(header: JWSHeaderParameters) => Promise<CryptoKey>> {
  const key = 'auth.jwt.jwks_file';
  let set: unknown;
  try {
    set = JSON.parse(read(path, key).toString('utf8'));
  } catch (err) {
    if (err instanceof OutriggerError) throw err;
    throw configError(key, `${path} is not JSON: ${(err as Error).message}`);
  }
  const keys = (set as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw configError(key, `${path} must be a JSON Web Key Set: {"keys": [...]} with at least one key`);
  for (const [i, jwk] of (keys as JWK[]).entries()) {
    const where = `${path} keys[${i}]${typeof jwk?.kid === 'string' ? ` (kid ${JSON.stringify(jwk.kid)})` : ''}`;
    if (jwk === null || typeof jwk !== 'object') throw configError(key, `${where} must be a JSON Web Key`);
    if (jwk.kty === 'oct' || jwk.d !== undefined) throw configError(key, `${where} is a secret or private key; a JWKS file holds public keys only (put an HS256 secret in hs256_secret_file)`);
    // Other key types may serve other verifiers of the same set; RSA and P-256 keys must import.
    const alg = jwk.kty === 'RSA' ? 'RS256' : jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256' : undefined;
    if (alg === undefined) continue;
    try {
      await importJWK(jwk, jwk.alg ?? alg);
    } catch (err) {
      throw configError(key, `${where} cannot be used: ${(err as Error).message}`);
    }
  }
  try {
    return createLocalJWKSet(set as JSONWebKeySet);
  } catch (err) {
    throw configError(key, `${path} is not a JSON Web Key Set: ${(err as Error).message}`);
  }
}

export class JwtKeys {
  private constructor(
    private readonly secret: Uint8Array | undefined,
    private readonly publicKeys: ReadonlyArray<{ alg: JwtAlgorithm; key: KeyObject }>,
    private readonly jwks: ((header: JWSHeaderParameters) => Promise<CryptoKey>) | undefined,
  ) {}

  /** Reads every configured key file; throws `config_invalid` naming the first that cannot be used. */
  static async load(files: JwtKeyFiles): Promise<JwtKeys> {
    const secret = files.hs256SecretFile !== '' ? readSecret(files.hs256SecretFile) : undefined;
    const publicKeys = files.publicKeyFiles.map((p, i) => readPublicKey(p, i));
    const jwks = files.jwksFile !== '' ? await readJwks(files.jwksFile) : undefined;
    return new JwtKeys(secret, publicKeys, jwks);
  }

  /**
   * Every configured key that may have signed a JWT with this header. PEM keys carry no kid, so
   * they fit any kid; JWKS keys are picked by jose (kid, kty, alg, use), and a header without a
   * kid gets every JWKS key of the right type, to be tried in turn.
   */
  async candidates(alg: JwtAlgorithm, kid: string | undefined): Promise<VerifyKey[]> {
    if (alg === 'HS256') return this.secret !== undefined ? [this.secret] : [];
    const keys: VerifyKey[] = this.publicKeys.filter((k) => k.alg === alg).map((k) => k.key);
    if (this.jwks === undefined) return keys;
    try {
      keys.push(await this.jwks({ alg, ...(kid !== undefined ? { kid } : {}) }));
    } catch (err) {
      if (err instanceof errors.JWKSMultipleMatchingKeys) {
        for await (const k of err as errors.JWKSMultipleMatchingKeys & AsyncIterable<CryptoKey>) keys.push(k);
      } else if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
    }
    return keys;
  }
}
