/**
 * A request whose credential is its AWS Signature V4 (the Cloud Map API): everything the
 * signature covers, as received. The verifier lives with the dialect; the Authenticator only
 * hands the request to it, so a signed call gets an Identity like any other credential.
 */
import type { Identity } from './identity.js';

export interface SignedRequest {
  readonly method: string;
  /** The request target as received: path and query, not decoded. */
  readonly target: string;
  /** Lower-case names, as node:http gives them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export interface SignatureVerifier {
  /** The identity of the access key that signed the request; throws `unauthenticated` with the reason otherwise. */
  verify(request: SignedRequest): Promise<Identity>;
}
