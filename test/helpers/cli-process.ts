import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/common/paths.js';
import { Changes } from './wait.js';

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

/**
 * Runs `outrigger <args>` as a real process, as a user would. A hub keeps its tokens in its data
 * dir, `~/.outrigger` by default: each process gets a fresh one of its own unless the test gives one.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const dataDir = { OUTRIGGER_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'outrigger-data-')) };
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const changes = new Changes();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    changes.changed();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('close', (code, signal) => {
      changes.end(`the process exited (${code ?? signal})`);
      resolve(code ?? signal ?? -1);
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    describe: () =>
      `outrigger ${args[0] ?? ''} (pid ${child.pid}) ${child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode})` : 'running'}; stderr: ${err.slice(-3000) || '(empty)'}`,
    waitForOutput: (pattern, ms = 60_000) =>
      changes.eventually(() => `output matching ${pattern}; stdout: ${out}; stderr: ${err}`, () => out.match(pattern) ?? undefined, ms),
  };
}
