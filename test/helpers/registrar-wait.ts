/**
 * Waiting on a Registrar's events and states with a generous bound, never a sleep.
 */
import type { EventEmitter } from 'node:events';
import type { Registrar, RegistrarEvents, RegistrarState } from '../../src/sidecar/registrar.js';
import { WAIT_MS } from './grpc-hub.js';

/** The arguments of the next `name` event that passes `filter`. Subscribe before acting. */
export function nextEvent<K extends keyof RegistrarEvents>(
  registrar: Registrar,
  name: K,
  filter: (...args: RegistrarEvents[K]) => boolean = () => true,
  ms = WAIT_MS,
): Promise<RegistrarEvents[K]> {
  const emitter = registrar as unknown as EventEmitter;
  return new Promise((resolve, reject) => {
    const listener = (...args: unknown[]): void => {
      const typed = args as RegistrarEvents[K];
      if (!filter(...typed)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(typed);
    };
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`timed out after ${ms}ms waiting for the registrar's '${name}' event (state ${registrar.state}, last error ${registrar.stats.lastError})`));
    }, ms);
    emitter.on(name, listener);
  });
}

/** Resolves when the registrar is in `state`, now or later. */
export async function untilState(registrar: Registrar, state: RegistrarState, ms = WAIT_MS): Promise<void> {
  if (registrar.state === state) return;
  await nextEvent(registrar, 'state', (s) => s === state, ms);
}
