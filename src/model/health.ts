/**
 * An instance's health, one vocabulary for the registry, the balancers, the health checks and
 * the sidecar. Only HEALTHY takes new requests normally; UNKNOWN is the start state (not yet
 * checked, not routable); UNHEALTHY is used only in panic; DRAINING never gets new requests.
 */
import { z } from 'zod';

export const HEALTH_STATES = ['HEALTHY', 'UNHEALTHY', 'UNKNOWN', 'DRAINING'] as const;
export type Health = (typeof HEALTH_STATES)[number];

export const healthSchema = z.enum(HEALTH_STATES, { error: `must be one of ${HEALTH_STATES.join(', ')}` });

/** What an active check can find out; DRAINING is the owner's own decision, never a check's. */
export const CHECKED_HEALTH_STATES = ['HEALTHY', 'UNHEALTHY', 'UNKNOWN'] as const satisfies readonly Health[];
export type CheckedHealth = (typeof CHECKED_HEALTH_STATES)[number];

export function isCheckedHealth(value: unknown): value is CheckedHealth {
  return (CHECKED_HEALTH_STATES as readonly unknown[]).includes(value);
}
