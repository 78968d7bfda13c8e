/**
 * Eureka's lease (`leaseInfo`) on Outrigger's: `durationInSecs` is the TTL (no renewal for that
 * long expires the instance), and an expired Eureka instance is evicted at the next lease sweep
 * (`deregister_critical_after` 0), as Eureka evicts it. The renewal interval is the client's own
 * business; it is kept so the client reads back what it sent. Self-preservation is the
 * registry's: while it holds, nothing expires, whichever API registered the instance.
 */
import type { Instance } from '../registry/model.js';
import { badInput } from './eureka-errors.js';

/** Eureka's defaults, used when a registration leaves them out. */
export const DEFAULT_DURATION_SECS = 90;
export const DEFAULT_RENEWAL_SECS = 30;
/** Metadata key holding the renewal interval the client sent. */
export const RENEWAL_KEY = 'eureka.renewalIntervalInSecs';

export interface LeaseInput {
  /** Durations as the registry reads them (`"90s"`). */
  ttl: string;
  deregister_critical_after: string;
  renewalSecs: number;
}

function seconds(value: unknown, field: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw badInput(field, `must be a whole number of seconds from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

export function leaseOf(leaseInfo: { durationInSecs?: unknown; renewalIntervalInSecs?: unknown } | undefined): LeaseInput {
  const duration = seconds(leaseInfo?.durationInSecs, 'instance.leaseInfo.durationInSecs', DEFAULT_DURATION_SECS, 1, 86_400);
  const renewalSecs = seconds(leaseInfo?.renewalIntervalInSecs, 'instance.leaseInfo.renewalIntervalInSecs', Math.min(DEFAULT_RENEWAL_SECS, duration), 1, 86_400);
  return { ttl: `${duration}s`, deregister_critical_after: '0s', renewalSecs };
}

/** The `leaseInfo` Eureka clients read: times in epoch milliseconds, durations in seconds. */
export function leaseInfoOf(inst: Instance): Record<string, number> {
  const durationInSecs = Math.ceil(inst.lease.ttlMs / 1000);
  const renewal = Number(inst.metadata[RENEWAL_KEY]);
  return {
    renewalIntervalInSecs: Number.isInteger(renewal) && renewal > 0 ? renewal : Math.min(DEFAULT_RENEWAL_SECS, durationInSecs),
    durationInSecs,
    registrationTimestamp: inst.registeredAt,
    lastRenewalTimestamp: inst.lease.renewedAt,
    evictionTimestamp: inst.lease.expiredAt ?? 0,
    serviceUpTimestamp: inst.registeredAt,
  };
}
