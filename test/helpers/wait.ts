/**
 * Polling waits for tests, with a generous upper bound: for state that has no event of its own
 * to await (e.g. "the server has processed the ACK", "a pid is gone"). Every test waits through
 * these two, so a timeout always reads the same way.
 */

/** Resolves with the first value `check` gives other than undefined; fails after `ms`. */
export async function eventually<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Resolves once `condition` holds; fails after `ms`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 10_000, everyMs = 20): Promise<void> {
  await eventually(what, async () => ((await condition()) ? true : undefined), ms, everyMs);
}
