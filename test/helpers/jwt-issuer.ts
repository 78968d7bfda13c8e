/**
 * A JWT issuer for tests: real keys of every kind the hub accepts, written as the files
 * `auth.jwt` names (an HS256 secret, RS256 and ES256 PEM public keys, a JWKS file of two RSA
 * keys), and tokens signed with them by jose, as an identity provider would.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';

export const ISSUER = 'https://ai-core.example/auth';
export const AUDIENCE = 'outrigger-hub';

/** Which key signs: a configured one, or `stranger`, a key the hub does not know. */
export type SigningKey = 'hs256' | 'rs256' | 'es256' | 'jwks-1' | 'jwks-2' | 'stranger';

interface Signer {
  alg: 'HS256' | 'RS256' | 'ES256';
  key: CryptoKey | Uint8Array;
  kid?: string;
}

export class JwtIssuer {
  /** The files, as `auth.jwt` takes them. */
  readonly files: { secret: string; rsaPem: string; ecPem: string; jwks: string };
  readonly dir: string;

  private constructor(
    dir: string,
    private readonly signers: Record<SigningKey, Signer>,
  ) {
    this.dir = dir;
    this.files = { secret: path.join(dir, 'hs256.secret'), rsaPem: path.join(dir, 'rs256.pem'), ecPem: path.join(dir, 'es256.pem'), jwks: path.join(dir, 'jwks.json') };
  }

  static async create(): Promise<JwtIssuer> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'outrigger-jwt-'));
    const pair = (alg: string) => generateKeyPair(alg, { extractable: true });
    const [rsa, ec, jwks1, jwks2, stranger] = await Promise.all([pair('RS256'), pair('ES256'), pair('RS256'), pair('RS256'), pair('RS256')]);
    const secretText = randomBytes(32).toString('base64url');
    const secret = new TextEncoder().encode(secretText);
    const issuer = new JwtIssuer(dir, {
      hs256: { alg: 'HS256', key: secret },
      rs256: { alg: 'RS256', key: rsa.privateKey },
      es256: { alg: 'ES256', key: ec.privateKey },
      'jwks-1': { alg: 'RS256', key: jwks1.privateKey, kid: 'key-1' },
      'jwks-2': { alg: 'RS256', key: jwks2.privateKey, kid: 'key-2' },
      stranger: { alg: 'RS256', key: stranger.privateKey },
    });
    // The secret as a Kubernetes Secret or `echo` would write it: with a newline at the end.
    writeFileSync(issuer.files.secret, `${secretText}\n`);
    writeFileSync(issuer.files.rsaPem, await exportSPKI(rsa.publicKey));
    writeFileSync(issuer.files.ecPem, await exportSPKI(ec.publicKey));
    const jwk = async (k: CryptoKey, kid: string) => ({ ...(await exportJWK(k)), kid, use: 'sig' });
    writeFileSync(issuer.files.jwks, JSON.stringify({ keys: [await jwk(jwks1.publicKey, 'key-1'), await jwk(jwks2.publicKey, 'key-2')] }));
    return issuer;
  }

  /**
   * A token with these claims, signed by `by`. JWKS keys put their kid in the header unless
   * `kid: null`; `kid` overrides it.
   */
  sign(claims: JWTPayload, by: SigningKey, options: { kid?: string | null; alg?: string } = {}): Promise<string> {
    const s = this.signers[by];
    const kid = options.kid === null ? undefined : (options.kid ?? s.kid);
    return new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? s.alg, typ: 'JWT', ...(kid !== undefined ? { kid } : {}) }).sign(s.key);
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Claims of a token valid from `nowMs` for an hour, with the issuer and audience above. */
export function claims(nowMs: number, extra: JWTPayload = {}): JWTPayload {
  const now = Math.floor(nowMs / 1000);
  return { iss: ISSUER, aud: AUDIENCE, sub: 'alice', role: 'operator', scopes: ['team-a.local'], iat: now, exp: now + 3600, ...extra };
}
