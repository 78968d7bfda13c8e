import type { Health } from '../model/health.js';
import type { Protocol } from '../model/protocol.js';
import type { Instance, Source } from '../registry/model.js';

/**
 * An instance as the REST API (and the CLI) shows it: snake_case like the registration body,
 * times as ISO-8601 strings, durations in milliseconds with the unit in the name.
 */
export interface InstanceJson {
  id: string;
  service: string;
  namespace: string;
  address: string;
  port: number;
  protocol: Protocol;
  version: string;
  zone: string;
  region: string;
  weight: number;
  metadata: Record<string, string>;
  /** Effective health: UNHEALTHY while the lease is expired, whatever the owner last reported. */
  health: Health;
  source: Source;
  lease: {
    /** 0: the instance has no lease and never expires. */
    ttl_ms: number;
    deregister_critical_after_ms: number;
    /** True while a Session stream holds the lease (the TTL is not running). */
    held: boolean;
    renewed_at: string;
    expired_at: string | null;
  };
  registered_at: string;
  updated_at: string;
  /** Registry version of the instance's last change. */
  revision: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function instanceToJson(inst: Instance): InstanceJson {
  return {
    id: inst.id,
    service: inst.service,
    namespace: inst.namespace,
    address: inst.address,
    port: inst.port,
    protocol: inst.protocol,
    version: inst.version,
    zone: inst.zone,
    region: inst.region,
    weight: inst.weight,
    metadata: { ...inst.metadata },
    health: inst.health,
    source: inst.source,
    lease: {
      ttl_ms: inst.lease.ttlMs,
      deregister_critical_after_ms: inst.lease.deregisterCriticalAfterMs,
      held: inst.lease.held,
      renewed_at: iso(inst.lease.renewedAt),
      expired_at: inst.lease.expiredAt === undefined ? null : iso(inst.lease.expiredAt),
    },
    registered_at: iso(inst.registeredAt),
    updated_at: iso(inst.updatedAt),
    revision: inst.revision,
  };
}
