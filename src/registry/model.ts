/**
 * The registry's model: namespace → service → instance (Cloud Map's shape). Records handed out
 * by the registry are immutable snapshots: a change replaces the object, so a subscriber may
 * keep a reference and compare by identity.
 */
import type { Health } from '../model/health.js';
import type { Protocol } from '../model/protocol.js';
import type { ServiceConfig } from '../model/service-config.js';

export const SOURCES = ['self', 'kubernetes', 'static'] as const;
export type Source = (typeof SOURCES)[number];

export interface Lease {
  /** No renewal for this long makes the instance UNHEALTHY; 0 means the instance has no lease. */
  readonly ttlMs: number;
  /** This long after going UNHEALTHY through expiry, the instance is removed (Consul's semantics). */
  readonly deregisterCriticalAfterMs: number;
  readonly renewedAt: number;
  /** True while a Session stream holds the lease; the TTL runs only once the stream drops. */
  readonly held: boolean;
  /** When the lease expired, if it has. */
  readonly expiredAt?: number;
}

export interface Instance {
  readonly id: string;
  readonly namespace: string;
  readonly service: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly version: string;
  readonly zone: string;
  readonly region: string;
  readonly weight: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** Effective health: what the owner reported, or UNHEALTHY while the lease is expired. */
  readonly health: Health;
  /** What the owner last reported, kept so a renewed lease restores it. */
  readonly reportedHealth: Health;
  readonly source: Source;
  readonly lease: Lease;
  readonly registeredAt: number;
  readonly updatedAt: number;
  /** Registry version of the last change to this instance. */
  readonly revision: number;
}

export interface Service {
  readonly namespace: string;
  readonly name: string;
  readonly config: ServiceConfig;
  readonly createdAt: number;
  readonly revision: number;
}

export interface Namespace {
  readonly name: string;
  readonly description: string;
  readonly createdAt: number;
  readonly revision: number;
}

export type ChangeOp = 'upsert' | 'remove';

export type RegistryChange =
  | { readonly kind: 'instance'; readonly op: ChangeOp; readonly version: number; readonly instance: Instance; readonly reason?: string }
  | { readonly kind: 'service'; readonly op: ChangeOp; readonly version: number; readonly service: Service }
  | { readonly kind: 'namespace'; readonly op: ChangeOp; readonly version: number; readonly namespace: Namespace };
