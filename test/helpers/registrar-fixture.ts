/**
 * Registrars for tests: a valid registration and a registrar that is stopped when the test ends.
 */
import type { ExecutionContext } from 'ava';
import { Registrar, type Registration, type RegistrarOptions } from '../../src/sidecar/registrar.js';

export const NAMESPACE = 'demo.local';
export const SERVICE = 'echo';

export function registrationFor(id: string, extra: Partial<Registration> = {}): Registration {
  return { id, service: SERVICE, namespace: NAMESPACE, address: '10.0.0.7', port: 8080, ttl_ms: 10_000, ...extra };
}

export function newRegistrar(
  t: ExecutionContext,
  options: Partial<RegistrarOptions> & Pick<RegistrarOptions, 'hubs'>,
): Registrar {
  const registrar = new Registrar({ registration: registrationFor('pod-1'), heartbeatIntervalMs: 5000, ...options });
  t.teardown(() => registrar.stop());
  return registrar;
}
