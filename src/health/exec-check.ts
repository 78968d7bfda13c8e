import { spawn, type ChildProcess } from 'node:child_process';
import type { ExecCheckConfig } from './check-config.js';
import { abortReason, describeError, fail, MAX_OUTPUT_CHARS, pass, warn, type HealthProbe, type ProbeResult } from './probe.js';

export type ExecProbeOptions = Pick<ExecCheckConfig, 'command' | 'shell'>;

/** Consul's meaning of a script's exit code: 0 passing, 1 warning, anything else critical. */
export function statusOfExitCode(code: number): ProbeResult['status'] {
  return code === 0 ? 'pass' : code === 1 ? 'warn' : 'fail';
}

/**
 * Kills the whole process group, not just the child: a shell script's own children would
 * otherwise outlive the timeout and keep its output pipes open.
 */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is gone already, or groups are not supported here: kill the child alone.
    child.kill('SIGKILL');
  }
}

/**
 * exec check: runs a command (argv, no shell unless asked) and judges its exit code.
 * The child leads its own process group (detached) so a timeout can kill everything it started.
 */
export class ExecProbe implements HealthProbe {
  private readonly file: string;
  private readonly args: string[];
  private readonly label: string;

  constructor(options: ExecProbeOptions) {
    const [file, ...args] = options.shell ? ['/bin/sh', '-c', options.command.join(' ')] : options.command;
    if (file === undefined) throw new TypeError('exec check needs a command');
    this.file = file;
    this.args = args;
    this.label = options.command.join(' ');
  }

  probe(signal: AbortSignal): Promise<ProbeResult> {
    if (signal.aborted) return Promise.resolve(fail(`${this.label}: ${abortReason(signal)}`));

    return new Promise((resolve) => {
      let output = '';
      let settled = false;
      const append = (chunk: Buffer): void => {
        if (output.length < MAX_OUTPUT_CHARS) output += chunk.toString('utf8');
      };
      const finish = (result: ProbeResult): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const withOutput = (line: string): string => (output.trim() === '' ? line : `${line}\n${output.trim()}`);

      let child: ChildProcess;
      try {
        child = spawn(this.file, this.args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
      } catch (err) {
        resolve(fail(`${this.label}: could not start: ${describeError(err)}`));
        return;
      }
      child.stdout?.on('data', append);
      child.stderr?.on('data', append);
      child.on('error', (err) => finish(fail(`${this.label}: could not start: ${describeError(err)}`)));
      // 'close' (not 'exit') so that all output has been read.
      child.on('close', (code, sig) => {
        if (code === null) {
          finish(fail(withOutput(`${this.label}: killed by ${sig ?? 'a signal'}`)));
          return;
        }
        const line = `${this.label}: exit code ${code}`;
        const status = statusOfExitCode(code);
        finish(status === 'pass' ? pass(withOutput(line)) : status === 'warn' ? warn(withOutput(line)) : fail(withOutput(line)));
      });

      const onAbort = (): void => {
        const why = abortReason(signal);
        killGroup(child);
        child.stdout?.destroy();
        child.stderr?.destroy();
        // Settle once the child is really gone, so the next probe never overlaps this one.
        const gone = child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
        if (gone) finish(fail(withOutput(`${this.label}: ${why}; process killed`)));
        else child.once('exit', () => finish(fail(withOutput(`${this.label}: ${why}; process killed`))));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    // Nothing is kept between probes.
  }
}
