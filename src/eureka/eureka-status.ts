/**
 * Eureka's instance statuses and Outrigger's health, one to one where they can be: only UP (and
 * HEALTHY) takes traffic. STARTING and UNKNOWN both become UNKNOWN (not yet checked, not
 * routable), which Eureka sees as STARTING. OUT_OF_SERVICE is the operator taking an instance
 * out, which is DRAINING: no new requests, still registered.
 */
import type { Health } from '../model/health.js';
import { badInput } from './eureka-errors.js';

export const EUREKA_STATUSES = ['UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE', 'UNKNOWN'] as const;
export type EurekaStatus = (typeof EUREKA_STATUSES)[number];

const TO_HEALTH: Readonly<Record<EurekaStatus, Health>> = {
  UP: 'HEALTHY',
  DOWN: 'UNHEALTHY',
  STARTING: 'UNKNOWN',
  OUT_OF_SERVICE: 'DRAINING',
  UNKNOWN: 'UNKNOWN',
};

const TO_STATUS: Readonly<Record<Health, EurekaStatus>> = {
  HEALTHY: 'UP',
  UNHEALTHY: 'DOWN',
  UNKNOWN: 'STARTING',
  DRAINING: 'OUT_OF_SERVICE',
};

export function healthOfStatus(value: unknown, field: string): Health {
  const status = typeof value === 'string' ? value.toUpperCase() : value;
  if (typeof status !== 'string' || !(EUREKA_STATUSES as readonly string[]).includes(status)) {
    throw badInput(field, `must be one of ${EUREKA_STATUSES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return TO_HEALTH[status as EurekaStatus];
}

export const statusOfHealth = (health: Health): EurekaStatus => TO_STATUS[health];
