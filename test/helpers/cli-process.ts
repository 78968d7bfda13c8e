import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/common/paths.js';

export const CLI = path.join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout match of the pattern; rejects if the process ends first or time runs out. */
  waitForOutput(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /**
   * Resolves with the exit code (or signal name) once the process has exited and its stdout and
   * stderr have ended: Node's 'exit' can come before the last output has been read, 'close' cannot.
   */
  exited: Promise<number | string>;
  /** The exit state and the tail of stderr, for a failure message. */
  describe(): string;
}

/** Runs `outrigger <args>` as a real process, as a user would. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let closed = false;
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('close', (code, signal) => {
      closed = true;
      for (const w of waiters) w();
      resolve(code ?? signal ?? -1);
    });
  });
  const name = args.slice(0, 1).join(' ');
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    describe: () =>
      `outrigger ${name} (pid ${child.pid}) ${child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode})` : 'running'}; stderr: ${err.slice(-3000) || '(empty)'}`,
    waitForOutput(pattern, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no output matching ${pattern} within ${ms} ms; stdout: ${out}; stderr: ${err}`));
        }, ms);
        const check = (): void => {
          const m = out.match(pattern);
          if (m !== null) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(m);
          } else if (closed) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`process exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}; stderr: ${err}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}
