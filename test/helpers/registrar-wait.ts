/**
 * A Registrar's events and states, awaited through wait.ts with the hub tests' bound. A timeout
 * names the registrar's state and last error: a wait that failed because the hub refused reads
 * as that, not as slowness.
 */
import type { Registrar, RegistrarEvents, RegistrarState } from '../../src/sidecar/registrar.js';
import { WAIT_MS } from './grpc-hub.js';
import { nextEvent as next } from './wait.js';

/** The arguments of the next `name` event that passes `match`. Subscribe before acting. */
export function nextEvent<K extends keyof RegistrarEvents>(
  registrar: Registrar,
  name: K,
  match: (...args: RegistrarEvents[K]) => boolean = () => true,
  ms = WAIT_MS,
): Promise<RegistrarEvents[K]> {
  return next<RegistrarEvents[K]>(registrar, name, match, ms, () => `state ${registrar.state}, last error ${registrar.stats.lastError}`);
}

/** Resolves when the registrar is in `state`, now or later. */
export async function untilState(registrar: Registrar, state: RegistrarState, ms = WAIT_MS): Promise<void> {
  if (registrar.state === state) return;
  await nextEvent(registrar, 'state', (s) => s === state, ms);
}
