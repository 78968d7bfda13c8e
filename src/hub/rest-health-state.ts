import { invalidArgument } from '../common/errors.js';
import { HEALTH_STATES, type Health } from '../model/health.js';

/**
 * Health as REST callers write it. AI-CORE sends lowercase words (`"status": "healthy"`) and
 * uses "maintenance" for an instance taken out of rotation, which is our DRAINING; our own
 * shape is the upper-case state. Both are accepted in any case.
 */
const WORDS: ReadonlyMap<string, Health> = new Map([
  ['healthy', 'HEALTHY'],
  ['unhealthy', 'UNHEALTHY'],
  ['unknown', 'UNKNOWN'],
  ['draining', 'DRAINING'],
  ['maintenance', 'DRAINING'],
]);

export function parseHealthWord(value: unknown, field: string): Health {
  if (typeof value === 'string') {
    const health = WORDS.get(value.toLowerCase());
    if (health !== undefined) return health;
  }
  throw invalidArgument(
    field,
    `${field}: must be one of ${HEALTH_STATES.join(', ')} (any case; "maintenance" means DRAINING), got ${JSON.stringify(value) ?? 'nothing'}`,
  );
}

/** Parses a comma-separated list of health states (a query filter such as `health=healthy,draining`). */
export function parseHealthList(value: string, field: string): Health[] {
  return [...new Set(value.split(',').map((w) => parseHealthWord(w.trim(), field)))];
}
