/**
 * Child processes and temp dirs of a benchmark run, with a guaranteed cleanup: every child is
 * started in its own process group and the whole group is SIGKILLed on exit, on Ctrl-C and on
 * failure, so no nginx worker or sidecar outlives the run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout/stderr match; rejects when the process exits first or time runs out. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<number | string>;
  /** SIGKILLs the process group and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const live = new Set<Proc>();
const dirs = new Set<string>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Kills every child still running and removes every temp dir (synchronous: also used on 'exit'). */
export function cleanupAll(): void {
  for (const p of live) killGroup(p.pid, 'SIGKILL');
  live.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

let installed = false;
function installHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${sig}: stopping every benchmark process\n`);
      cleanupAll();
      process.exit(130);
    });
  }
}

export function tempDir(prefix: string): string {
  installHandlers();
  const d = mkdtempSync(path.join(os.tmpdir(), `outrigger-bench-${prefix}-`));
  dirs.add(d);
  return d;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** CPU list for taskset (e.g. "1"); ignored when pinning is off. */
  cpus?: string | undefined;
  cwd?: string;
  /** Open an IPC channel (child.send and 'message'), for children driven by the runner. */
  ipc?: boolean;
}

let pinning = true;
/** Turns taskset pinning off (one core, or no taskset). */
export function setPinning(on: boolean): void {
  pinning = on;
}

export function start(name: string, cmd: string, args: string[], opts: StartOptions = {}): Proc {
  installHandlers();
  const [file, argv] = pinning && opts.cpus !== undefined ? ['taskset', ['-c', opts.cpus, cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    detached: true,
    stdio: opts.ipc === true ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const keep = (s: string, d: Buffer): string => (s.length > 1 << 20 ? s.slice(-(1 << 19)) : s) + d.toString();
  child.stdout!.on('data', (d: Buffer) => {
    out = keep(out, d);
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err = keep(err, d);
    for (const w of waiters) w();
  });
  let closed = false;
  child.on('exit', () => live.delete(proc));
  // 'close' comes once stdout and stderr have ended too; after 'exit' the last output may still be unread.
  const exited = new Promise<number | string>((resolve) => {
    child.on('close', (code, signal) => {
      closed = true;
      for (const w of waiters) w();
      resolve(code ?? signal ?? -1);
    });
  });
  const proc: Proc = {
    name,
    child,
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${name}: no output matching ${pattern} within ${ms} ms\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`));
        }, ms);
        const check = (): void => {
          const m = out.match(pattern) ?? err.match(pattern);
          if (m !== null) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(m);
          } else if (closed) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`${name}: exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}\nstderr: ${err.slice(-2000)}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child.pid!, signal);
      await exited;
    },
  };
  live.add(proc);
  return proc;
}

/** Runs a command to completion and returns its output (also killed on Ctrl-C). */
export async function runToEnd(name: string, cmd: string, args: string[], opts: StartOptions & { timeoutMs?: number } = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = start(name, cmd, args, opts);
  const timer = setTimeout(() => void p.kill(), opts.timeoutMs ?? 600_000);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** A port free right now on 127.0.0.1 (for configs that need a number, not 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Thrown inside an until() probe to stop waiting at once. */
export class FatalWait extends Error {}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns true (a benchmark may poll; tests may not). */
export async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 30_000, every = 50): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (err) {
      if (err instanceof FatalWait) throw err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** Runs a standalone bench script's main: every child killed and temp dir removed on success and on failure. */
export function runScript(main: () => Promise<void>): void {
  main().then(
    () => {
      cleanupAll();
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      cleanupAll();
      process.exit(1);
    },
  );
}
