import type { Instance } from './model.js';

export interface SelfPreservationOptions {
  enabled: boolean;
  /** Pause expiry when more than this share (0–1) of leased instances would expire in one sweep. */
  maxExpiringShare: number;
  /** Below this many leased instances, self-preservation never engages (one of two is not a crowd). */
  minInstances: number;
}

export interface LeaseVerdict {
  /** Leases that ran out in this sweep. */
  expire: Instance[];
  /** Expired instances whose deregister_critical_after has passed. */
  remove: Instance[];
  /** Instances with a live lease (held or not yet expired) before this sweep. */
  leased: number;
  preserve: boolean;
}

/** Decides what a lease sweep would do at `now`, without changing anything. */
export function evaluateLeases(instances: Iterable<Instance>, now: number, sp: SelfPreservationOptions): LeaseVerdict {
  const expire: Instance[] = [];
  const remove: Instance[] = [];
  let leased = 0;
  for (const inst of instances) {
    const lease = inst.lease;
    if (lease.ttlMs === 0) continue;
    if (lease.expiredAt !== undefined) {
      if (now - lease.expiredAt >= lease.deregisterCriticalAfterMs) remove.push(inst);
      continue;
    }
    leased++;
    if (!lease.held && now - lease.renewedAt > lease.ttlMs) expire.push(inst);
  }
  const preserve = sp.enabled && leased >= sp.minInstances && expire.length > sp.maxExpiringShare * leased;
  return { expire, remove, leased, preserve };
}
