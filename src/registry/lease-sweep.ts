import type { Instance } from './model.js';
import type { RenewalMeasure } from './renewal-rate.js';

export interface SelfPreservationOptions {
  enabled: boolean;
  /** Pause expiry when more than this share (0–1) of leased instances would expire in one sweep. */
  maxExpiringShare: number;
  /** Below this many leased instances, self-preservation never engages (one of two is not a crowd). */
  minInstances: number;
  /** Pause expiry while the renewals seen in the window fall below this share (0–1) of those expected (Eureka's 85%). */
  renewalThreshold: number;
  /** The sliding window over which renewals are counted. */
  windowMs: number;
}

export interface LeaseVerdict {
  /** Leases that ran out in this sweep. */
  expire: Instance[];
  /** Expired instances whose deregister_critical_after has passed. */
  remove: Instance[];
  /** Instances with a live lease (held or not yet expired) before this sweep. */
  leased: number;
  preserve: boolean;
  /** Which rule holds expiry back, when one does. */
  reason?: 'renewal_rate' | 'expiring_share';
}

/**
 * Decides what a lease sweep would do at `now`, without changing anything. `candidates` are the
 * instances whose lease may be due (the LeaseSchedule's; every instance will do), `leased` the
 * instances with a live lease (held or not yet expired).
 */
export function evaluateLeases(candidates: Iterable<Instance>, leased: number, now: number, sp: SelfPreservationOptions, renewals: RenewalMeasure): LeaseVerdict {
  const expire: Instance[] = [];
  const remove: Instance[] = [];
  for (const inst of candidates) {
    const lease = inst.lease;
    if (lease.ttlMs === 0) continue;
    if (lease.expiredAt !== undefined) {
      if (now - lease.expiredAt >= lease.deregisterCriticalAfterMs) remove.push(inst);
      continue;
    }
    if (!lease.held && now - lease.renewedAt > lease.ttlMs) expire.push(inst);
  }
  const verdict: LeaseVerdict = { expire, remove, leased, preserve: false };
  if (!sp.enabled) return verdict;
  if (renewals.renewers >= sp.minInstances && renewals.seen < sp.renewalThreshold * renewals.expected) {
    return { ...verdict, preserve: true, reason: 'renewal_rate' };
  }
  if (leased >= sp.minInstances && expire.length > sp.maxExpiringShare * leased) return { ...verdict, preserve: true, reason: 'expiring_share' };
  return verdict;
}
