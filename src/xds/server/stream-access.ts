/**
 * What the ADS server is told about a stream's caller by whoever runs it (the hub): which
 * resources the stream may receive. The server knows nothing of identities; it only filters.
 */
import type { status as GrpcStatus } from '@grpc/grpc-js';
import type { AdsCall } from '../ads-service.js';

export interface AdsStreamAccess {
  /** Whether the stream may receive the resource `<service>.<namespace>`; undefined: everything. */
  readonly visible?: (name: string) => boolean;
  /** Names the visibility above (same key, same resources), so such streams share encoded bodies. */
  readonly key: string;
  /** The stream asked for a resource it may not receive; it is treated as absent. Called once per name. */
  refused(name: string): void;
  /** The stream ended. */
  release(): void;
  /** Called once the stream exists, with how to end it early (its caller's credential was revoked or expired). */
  attach(terminate: (code: GrpcStatus, details: string) => void): void;
}

/** Admits a new stream, or rejects with an OutriggerError (unauthenticated, resource_exhausted). */
export type AdsAccess = (call: AdsCall) => Promise<AdsStreamAccess>;

/** Everything to everyone: for an ADS server run without access control (tests, auth off). */
export const openAdsAccess: AdsAccess = () => Promise.resolve({ key: '', refused: () => undefined, release: () => undefined, attach: () => undefined });
