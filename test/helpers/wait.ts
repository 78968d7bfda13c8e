/**
 * The waits every test uses, each with a generous upper bound and never a sleep. `eventually` and
 * `until` poll, for state that has no event of its own (e.g. "the server has processed the ACK",
 * "a pid is gone"); `nextEvent` and `Changes` wake on events. Each takes what it waits for first,
 * then the check, then the bound, so a timeout always reads the same way.
 */
import type { EventEmitter } from 'node:events';

/**
 * What a wait is for, as its timeout names it. A function is called only at the timeout, so the
 * message can carry the state of that moment (a process's stderr, the answers so far).
 */
export type What = string | (() => string);

function text(what: What): string {
  return typeof what === 'string' ? what : what();
}

function timedOut(what: What, ms: number): Error {
  return new Error(`timed out after ${ms} ms waiting for ${text(what)}`);
}

/** Resolves with the first value `check` gives other than undefined; fails after `ms`, or when `check` throws. */
export async function eventually<T>(what: What, check: () => T | undefined | Promise<T | undefined>, ms = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw timedOut(what, ms);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Resolves once `condition` holds; fails after `ms`. */
export async function until(what: What, condition: () => boolean | Promise<boolean>, ms = 10_000, everyMs = 20): Promise<void> {
  await eventually(what, async () => ((await condition()) ? true : undefined), ms, everyMs);
}

/**
 * Settles with the first value a check passed to `attempt` gives other than undefined, or with
 * what it throws; fails after `ms`. `watch` decides when to attempt and returns how to stop.
 */
function bounded<T>(what: What, ms: number, watch: (attempt: (check: () => T | undefined) => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let stop = (): void => {};
    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop();
      settle();
    };
    const attempt = (check: () => T | undefined): void => {
      if (settled) return;
      try {
        const v = check();
        if (v !== undefined) finish(() => resolve(v));
      } catch (err) {
        finish(() => reject(err));
      }
    };
    const timer = setTimeout(() => finish(() => reject(timedOut(what, ms))), ms);
    stop = watch(attempt);
    // `watch` may have settled at once, before `stop` was known.
    if (settled) stop();
  });
}

type Emitter = Pick<EventEmitter, 'on' | 'off'>;

/**
 * The arguments of the next `event` from `emitter` that `match` accepts; fails after `ms`.
 * Subscribe before acting. `about`, when given, adds the emitter's state to a timeout. Name the
 * arguments' types (`nextEvent<[ClusterChange]>`): a typed EventEmitter does not pass them on.
 */
export function nextEvent<A extends unknown[] = unknown[]>(
  emitter: Emitter,
  event: string,
  match: (...args: A) => boolean = () => true,
  ms = 10_000,
  about?: () => string,
): Promise<A> {
  const what = (): string => `a '${event}' event${about === undefined ? '' : ` (${about()})`}`;
  return bounded(what, ms, (attempt) => {
    // A throwing `match` fails the wait instead of throwing into the emitter's code.
    const listener = (...args: unknown[]): void => attempt(() => (match(...(args as A)) ? (args as A) : undefined));
    emitter.on(event, listener);
    return () => emitter.off(event, listener);
  });
}

/**
 * Waits on state that its owner changes and announces: each check runs at once and again on
 * every `changed()`, so a wait ends as soon as the state does, without polling.
 */
export class Changes {
  private readonly checks = new Set<() => void>();
  private ended: What | undefined;

  /** Runs every pending check again; the owner calls it after each change a check may read. */
  changed(): void {
    for (const check of [...this.checks]) check();
  }

  /**
   * Nothing will change any more (the stream or the process is gone): from now on a check that
   * does not pass fails its wait at once, saying `why`, instead of running out its bound.
   */
  end(why: What): void {
    this.ended = why;
    this.changed();
  }

  /** Resolves with the first value `check` gives other than undefined; fails after `ms`, or when `check` throws. */
  eventually<T>(what: What, check: () => T | undefined, ms = 10_000): Promise<T> {
    const checkUnlessEnded = (): T | undefined => {
      const v = check();
      if (v === undefined && this.ended !== undefined) throw new Error(`${text(this.ended)} before ${text(what)}`);
      return v;
    };
    return bounded(what, ms, (attempt) => {
      const run = (): void => attempt(checkUnlessEnded);
      this.checks.add(run);
      run();
      return () => this.checks.delete(run);
    });
  }

  /** Resolves once `condition` holds; fails after `ms`, or when `condition` throws. */
  async until(what: What, condition: () => boolean, ms = 10_000): Promise<void> {
    await this.eventually(what, () => (condition() ? true : undefined), ms);
  }
}
