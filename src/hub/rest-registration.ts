import { OutriggerError, invalidArgument } from '../common/errors.js';
import { parseHealthWord } from './rest-health-state.js';

/**
 * Turns a REST registration body (AI-CORE's shape plus ours) into the registry's input.
 *
 * - `name` is AI-CORE's spelling of the service name; `service` (ours) is accepted too, not both.
 * - `health_check` is refused: the hub runs no probes. Active checks (http, tcp, grpc, exec) live
 *   in the sidecar next to the app, which reports the result through heartbeats or its Session
 *   stream; accepting the block and ignoring it would promise checks that never run.
 * - `source` is the hub's to set: REST registrations are "self" (use `"ttl": 0` for an instance
 *   without a lease).
 * Everything else goes to Registry.register, which validates every field and rejects unknown keys.
 */
export interface RegistrationBody {
  input: Record<string, unknown>;
  /** How the caller spelled the service name, so errors about it use the caller's word. */
  serviceField: 'name' | 'service';
}

export function registrationFromBody(body: Record<string, unknown>): RegistrationBody {
  const { name, health_check: healthCheck, ...rest } = body;
  if ('source' in rest) {
    throw invalidArgument('source', 'source: set by the hub (REST registrations are "self"); leave it out, and use "ttl": 0 for an instance without a lease');
  }
  if (healthCheck !== undefined) {
    throw invalidArgument(
      'health_check',
      'health_check: the hub runs no active health checks; they live in the sidecar next to your app (its health_check config). ' +
        'Keep the instance alive with POST /api/v1/services/{id}/heartbeat within its ttl, or set its health with PUT /api/v1/services/{id}/health',
    );
  }
  if (name !== undefined && rest.service !== undefined) {
    throw invalidArgument('name', 'name: give the service name as "name" or as "service", not both');
  }
  if (name === undefined && rest.service === undefined) {
    throw invalidArgument('name', 'name: required: the service name (a DNS label such as "user-service")');
  }
  const input: Record<string, unknown> = { ...rest };
  if (name !== undefined) input.service = name;
  if (typeof input.health === 'string') input.health = parseHealthWord(input.health, 'health');
  return { input, serviceField: name !== undefined ? 'name' : 'service' };
}

/** Re-labels the registry's errors about `service` when the caller wrote `name`. */
export function inCallerTerms(err: unknown, serviceField: 'name' | 'service'): unknown {
  if (serviceField === 'service' || !(err instanceof OutriggerError) || err.field !== 'service') return err;
  return new OutriggerError(err.code, err.message.replace(/^service\b/, 'name'), 'name');
}
