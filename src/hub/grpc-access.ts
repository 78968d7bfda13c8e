/**
 * The gRPC side of the hub's access checks: where a call came from, and its Caller, from the
 * `authorization` metadata and the verified client certificate.
 */
import type { PeerCertificate } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import type { AccessControl } from '../auth/access-control.js';
import type { CallSite } from '../auth/audit-log.js';
import type { Caller } from '../auth/caller.js';
import { grpcCredentials } from '../auth/credentials.js';

/** The peer's address without its port: grpc-js says `127.0.0.1:5000` or `[::1]:5000`. */
export function peerAddress(peer: string): string {
  const m = /^\[?(.*?)\]?:\d+$/.exec(peer);
  const address = m === null ? peer : m[1]!;
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** What the checks read of any server call: unary or streaming. */
export interface IdentifiedCall {
  readonly metadata: grpc.Metadata;
  getPeer(): string;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
}

export function grpcSite(call: IdentifiedCall, op: string): CallSite {
  return { api: 'grpc', op, peer: peerAddress(call.getPeer()) };
}

/** The call's Caller; rejects with `unauthenticated` when its credentials are missing or refused. */
export async function grpcCaller(access: AccessControl, call: IdentifiedCall, op: string): Promise<Caller> {
  const site = grpcSite(call, op);
  return access.caller(await access.identify(() => grpcCredentials(call), site), site);
}
