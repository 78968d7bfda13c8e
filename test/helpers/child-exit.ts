import { spawn } from 'node:child_process';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved. */
  out: string;
}

/**
 * Runs a Node script in a child process and resolves when it exits by itself and its output
 * has all been read ('close', not 'exit', which can come first). The bound is an
 * upper limit only: a child still running then is killed, which shows as `signal: 'SIGKILL'`.
 */
export function runToExit(script: string, args: string[], boundMs: number): Promise<ChildExit> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const bound = setTimeout(() => child.kill('SIGKILL'), boundMs);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(bound);
      resolve({ code, signal, out });
    }),
  );
}
