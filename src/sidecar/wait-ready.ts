import { systemClock, type Clock } from '../common/clock.js';
import type { ReadyScope } from './admin-server.js';

const POLL_MS = 250;

/** Polls a sidecar's /ready (or /ready/proxy) until it answers 200 or the time is up. */
export async function waitReady(
  admin: string,
  timeoutMs: number,
  scope: ReadyScope = 'pod',
  clock: Clock = systemClock,
): Promise<{ ready: boolean; reason: string }> {
  const url = scope === 'pod' ? `${admin}/ready` : `${admin}/ready/proxy`;
  const deadline = clock.monotonic() + timeoutMs;
  let reason = 'no answer yet';
  for (;;) {
    const left = deadline - clock.monotonic();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(1, Math.floor(Math.min(2000, left)))) });
      const body = (await res.json().catch(() => ({}))) as { reasons?: string[] };
      if (res.status === 200) return { ready: true, reason: '' };
      reason = body.reasons?.join('; ') ?? `HTTP ${res.status}`;
    } catch (err) {
      const cause = (err as Error).cause;
      reason = `cannot reach it (${cause instanceof Error ? cause.message : (err as Error).message})`;
    }
    if (deadline - clock.monotonic() < POLL_MS) return { ready: false, reason };
    await new Promise<void>((resolve) => clock.setTimeout(resolve, POLL_MS));
  }
}
