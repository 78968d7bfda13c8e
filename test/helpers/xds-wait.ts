import { until as poll } from './wait.js';

/** Waits until `condition` holds, checking every 2 ms (xDS exchanges are quick), for up to 10 s by default. */
export function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  return poll(condition, what, timeoutMs, 2);
}
