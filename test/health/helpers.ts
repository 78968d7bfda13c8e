import { readFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { ManualClock } from '../../src/common/manual-clock.js';
import { parseHealthCheck, type HealthCheckConfig } from '../../src/health/check-config.js';
import { HealthManager, type CheckResult, type HealthManagerOptions, type HealthTransition } from '../../src/health/health-manager.js';
import { nextEvent } from '../helpers/wait.js';

/** Generous bound for anything that waits on real I/O: a loaded 2-core CI box can be slow. */
export const WAIT_MS = 10_000;

export async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A manager on a ManualClock, with every transition collected. */
export function manualManager(
  raw: Record<string, unknown>,
  options: HealthManagerOptions = {},
): { manager: HealthManager; clock: ManualClock; transitions: HealthTransition[]; config: HealthCheckConfig } {
  const clock = new ManualClock();
  const config = parseHealthCheck(raw);
  const manager = new HealthManager(config, { clock, ...options });
  const transitions: HealthTransition[] = [];
  manager.on('transition', (t) => transitions.push(t));
  return { manager, clock, transitions, config };
}

/** Moves the clock by `ms` and waits for the probe that this starts to finish. */
export async function step(manager: HealthManager, clock: ManualClock, ms: number): Promise<CheckResult> {
  const result = nextEvent<[CheckResult]>(manager, 'result');
  clock.advance(ms);
  return (await result)[0];
}

/** True while a process with this pid exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed grandchild may linger as a zombie until its new parent reaps it: that is dead too.
  const stat = readProcStat(pid);
  if (stat === undefined) return process.platform !== 'linux'; // gone between the two looks
  return !/^\d+ \(.*\) Z/.test(stat);
}

function readProcStat(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
}
