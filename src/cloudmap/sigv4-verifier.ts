/**
 * Verifies AWS Signature V4 on Cloud Map requests against the configured access keys. The
 * canonicalisation and the HMAC chain are the AWS SDK's own (`@smithy/signature-v4`): the
 * received request is signed again with the stored secret at the request's own X-Amz-Date, and
 * the two signatures are compared in constant time. Around that, what a re-signing alone would
 * not catch: the credential scope (date, region, service), the clock skew, the headers that must
 * be signed, and a payload hash header that does not match the body.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Identity } from '../auth/identity.js';
import { ALL, type Scope } from '../auth/scope.js';
import type { Role } from '../auth/roles.js';
import type { SignatureVerifier, SignedRequest } from '../auth/signed-request.js';
import type { Clock } from '../common/clock.js';
import { signatureRefusal } from './cloudmap-errors.js';

export const SIGNING_SERVICE = 'servicediscovery';
/** AWS refuses a request signed more than 5 minutes before or after its own clock. */
export const MAX_SKEW_MS = 5 * 60_000;
const ALGORITHM = 'AWS4-HMAC-SHA256';
/** Without these signed, a signature could be replayed to another host, at another time, or for another operation. */
const MUST_SIGN = ['host', 'x-amz-date', 'x-amz-target'];
const AUTHORIZATION = /^AWS4-HMAC-SHA256 +Credential=([^,\s]+), *SignedHeaders=([^,\s]+), *Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly role: Role;
  readonly scopes: readonly Scope[];
  readonly reads?: readonly Scope[];
}

export class SigV4Verifier implements SignatureVerifier {
  private readonly keys = new Map<string, { identity: Identity; signer: SignatureV4 }>();

  constructor(
    private readonly region: string,
    private readonly clock: Clock,
  ) {}

  /** Replaces the accepted keys (at start, once the secret files are read). */
  setKeys(keys: readonly AccessKey[]): void {
    this.keys.clear();
    for (const k of keys) {
      const identity: Identity = {
        name: k.accessKeyId,
        kind: 'aws-sigv4',
        role: k.role,
        scopes: k.scopes,
        reads: k.reads ?? (k.role === 'service' ? [ALL] : k.scopes),
      };
      const signer = new SignatureV4({
        credentials: { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey },
        region: this.region,
        service: SIGNING_SERVICE,
        sha256: Hash.bind(null, 'sha256'),
        // The payload hash header is checked against the body below, never trusted as given.
        applyChecksum: false,
      });
      this.keys.set(k.accessKeyId, { identity, signer });
    }
  }

  get size(): number {
    return this.keys.size;
  }

  async verify(request: SignedRequest): Promise<Identity> {
    const authorization = single(request.headers.authorization);
    if (authorization === undefined) {
      throw signatureRefusal('MissingAuthenticationTokenException', 'the request is not signed: sign it with AWS Signature V4 (AWS4-HMAC-SHA256) using an access key of cloudmap.access_keys');
    }
    const m = AUTHORIZATION.exec(authorization.trim());
    if (m === null) {
      throw signatureRefusal('IncompleteSignatureException', `authorization must be "${ALGORITHM} Credential=<key id>/<date>/<region>/${SIGNING_SERVICE}/aws4_request, SignedHeaders=<names>, Signature=<64 hex digits>"`);
    }
    const [, credential, signedHeaderList, signature] = m as unknown as [string, string, string, string];
    const [keyId, day, region, service, terminator, ...rest] = credential.split('/');
    if (keyId === undefined || rest.length > 0 || terminator !== 'aws4_request') {
      throw signatureRefusal('IncompleteSignatureException', 'the credential must be <key id>/<yyyymmdd>/<region>/<service>/aws4_request');
    }
    const key = this.keys.get(keyId);
    if (key === undefined) throw signatureRefusal('UnrecognizedClientException', `access key id ${safe(keyId)} is not one the hub accepts (cloudmap.access_keys)`);
    if (region !== this.region) throw signatureRefusal('InvalidSignatureException', `the credential is scoped to region ${safe(region ?? '')}; this hub is ${this.region} (cloudmap.region)`);
    if (service !== SIGNING_SERVICE) throw signatureRefusal('InvalidSignatureException', `the credential is scoped to service ${safe(service ?? '')}; sign for ${SIGNING_SERVICE}`);

    const amzDate = single(request.headers['x-amz-date']);
    const signedAt = amzDate === undefined ? undefined : parseAmzDate(amzDate);
    if (signedAt === undefined) throw signatureRefusal('IncompleteSignatureException', 'x-amz-date must be sent, as yyyymmddThhmmssZ');
    if (amzDate!.slice(0, 8) !== day) throw signatureRefusal('InvalidSignatureException', `the credential's date ${safe(day ?? '')} is not the date of x-amz-date ${amzDate!}`);
    const skew = signedAt - this.clock.now();
    if (Math.abs(skew) > MAX_SKEW_MS) {
      const now = new Date(this.clock.now()).toISOString();
      throw signatureRefusal('InvalidSignatureException', skew < 0 ? `signature expired: signed at ${amzDate!}, more than 5 minutes before the hub's time ${now}` : `signature not yet current: signed at ${amzDate!}, more than 5 minutes after the hub's time ${now}`);
    }

    const signed = signedHeaderList.split(';');
    for (const name of MUST_SIGN) {
      if (!signed.includes(name)) throw signatureRefusal('IncompleteSignatureException', `the signature must cover the header ${name} (SignedHeaders is ${safe(signedHeaderList)})`);
    }
    if (request.headers['x-amz-security-token'] !== undefined) {
      throw signatureRefusal('UnrecognizedClientException', 'temporary credentials (x-amz-security-token) are not accepted: use an access key of cloudmap.access_keys');
    }
    const payloadHash = single(request.headers['x-amz-content-sha256']);
    if (payloadHash !== undefined && payloadHash !== createHash('sha256').update(request.body).digest('hex')) {
      throw signatureRefusal('InvalidSignatureException', 'x-amz-content-sha256 is not the SHA-256 of the body');
    }
    const headers: Record<string, string> = {};
    for (const name of signed) {
      const value = request.headers[name];
      if (value === undefined) throw signatureRefusal('IncompleteSignatureException', `the signed header ${safe(name)} is not in the request`);
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const [rawPath = '/', rawQuery = ''] = request.target.split('?', 2);
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(rawQuery)) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const resigned = await key.signer.sign(
      { method: request.method, protocol: 'http:', hostname: headers.host ?? '', path: decodePath(rawPath), query, headers, body: request.body },
      { signingDate: new Date(signedAt), signableHeaders: new Set(signed) },
    );
    const expected = AUTHORIZATION.exec(String(resigned.headers.authorization))?.[3] ?? '';
    if (expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
      throw signatureRefusal('InvalidSignatureException', `the signature does not match: check the secret of access key ${keyId} and sign the request as sent`);
    }
    return key.identity;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** `20261203T041500Z` as ms since the epoch; undefined when it is not one. */
function parseAmzDate(text: string): number | undefined {
  const m = AMZ_DATE.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The signer escapes the path itself, so it gets the path the client signed: unescaped. */
function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Client text in a message: cut, and only printable ASCII. */
function safe(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 77)}...` : clean;
}
