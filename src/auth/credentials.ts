/**
 * Credentials as REST and gRPC calls carry them: `authorization: Bearer <token>` (an HTTP
 * header, or gRPC metadata) and the client certificate the TLS handshake verified.
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

export function httpCredentials(req: http.IncomingMessage): Credentials {
  const token = bearerToken(req.headers.authorization);
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
