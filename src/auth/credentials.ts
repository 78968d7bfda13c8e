/**
 * Credentials as REST and gRPC calls carry them: `authorization: Bearer <token>` (an HTTP
 * header, or gRPC metadata; HTTP Basic too where a dialect's clients know nothing else) and the
 * client certificate the TLS handshake verified.
 */
import type http from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import { unauthenticated, type Credentials } from './authenticator.js';

const BEARER = /^Bearer +([^\s]+) *$/i;

/** The token of an `authorization` value; refuses any other scheme rather than ignoring it. */
export function bearerToken(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = BEARER.exec(value);
  if (m === null) throw unauthenticated('authorization: only "Bearer <token>" is accepted');
  return m[1];
}

function verifiedCertificate(socket: unknown): PeerCertificate | undefined {
  const tls = socket as Partial<TLSSocket> | undefined;
  if (tls?.authorized !== true || typeof tls.getPeerCertificate !== 'function') return undefined;
  const cert = tls.getPeerCertificate();
  return cert !== undefined && cert.raw !== undefined ? cert : undefined;
}

const BASIC = /^Basic +([A-Za-z0-9+/=]+) *$/i;

/**
 * The token of an `authorization` value that may also be HTTP Basic, as clients that only know
 * a user and a password in their server URL send it (`http://user:<token>@hub/...`): the password
 * is the token, the user name is not looked at.
 */
export function basicOrBearerToken(value: string | undefined): string | undefined {
  const m = value === undefined ? null : BASIC.exec(value);
  if (m === null) return bearerToken(value);
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  if (password === '') throw unauthenticated('authorization: Basic credentials must carry a token as the password ("<any user>:<token>")');
  return password;
}

/** `basic`: accept HTTP Basic with the token as the password, besides Bearer. */
export function httpCredentials(req: http.IncomingMessage, options: { basic?: boolean } = {}): Credentials {
  const token = options.basic === true ? basicOrBearerToken(req.headers.authorization) : bearerToken(req.headers.authorization);
  const certificate = verifiedCertificate(req.socket);
  return { ...(token !== undefined ? { token } : {}), ...(certificate !== undefined ? { certificate } : {}) };
}

export function grpcCredentials(call: { metadata: grpc.Metadata; getAuthContext(): { sslPeerCertificate?: PeerCertificate } }): Credentials {
  const values = call.metadata.get('authorization');
  if (values.length > 1) throw unauthenticated('authorization: send one bearer token, not several');
  const raw = values[0];
  const token = bearerToken(typeof raw === 'string' ? raw : raw?.toString('utf8'));
  const certificate = call.getAuthContext().sslPeerCertificate;
  return { ...(token !== undefined ? { token } : {}), ...(certificate !== undefined ? { certificate } : {}) };
}
