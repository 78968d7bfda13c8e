/**
 * What Consul has and Outrigger's registry does not is kept in the instance's own metadata,
 * under reserved `consul.` keys, so the registry stays the one store: `consul.tags` (the Tags,
 * a JSON array) and `consul.checks` (each check's id, name, type and last status, a JSON
 * array). Consul's own `Meta` keys cannot hold a dot, so they never collide.
 */
import type { Health } from '../model/health.js';
import type { Instance } from '../registry/model.js';

export const TAGS_KEY = 'consul.tags';
export const CHECKS_KEY = 'consul.checks';
export const RESERVED_PREFIX = 'consul.';

export const CHECK_STATUSES = ['passing', 'warning', 'critical'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];
export const CHECK_TYPES = ['ttl', 'http', 'tcp', 'grpc', 'script'] as const;
export type CheckType = (typeof CHECK_TYPES)[number];

export interface StoredCheck {
  id: string;
  name: string;
  type: CheckType;
  status: CheckStatus;
  output?: string;
}

function jsonArray(text: string | undefined): unknown[] {
  if (text === undefined) return [];
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

/** The instance's Consul tags (none for an instance registered another way). */
export function tagsOf(inst: Instance): string[] {
  return jsonArray(inst.metadata[TAGS_KEY]).filter((t): t is string => typeof t === 'string');
}

export function storedChecks(inst: Instance): StoredCheck[] {
  return jsonArray(inst.metadata[CHECKS_KEY]).filter((c): c is StoredCheck => typeof c === 'object' && c !== null && typeof (c as StoredCheck).id === 'string');
}

/** The metadata without the reserved keys: Consul's `Meta`. */
export function userMeta(inst: Instance): Record<string, string> {
  return Object.fromEntries(Object.entries(inst.metadata).filter(([k]) => !k.startsWith(RESERVED_PREFIX)));
}

/**
 * The instance's health from its checks, as Consul's DNS and `passing` see them: any critical
 * check makes it UNHEALTHY; a warning still takes traffic (Consul's DNS answers it too).
 */
export function healthOf(checks: readonly StoredCheck[]): Health {
  return checks.some((c) => c.status === 'critical') ? 'UNHEALTHY' : 'HEALTHY';
}

/** Consul's status for an Outrigger health, for an instance without checks of its own. */
export function statusOfHealth(health: Health): CheckStatus {
  return health === 'HEALTHY' ? 'passing' : 'critical';
}
