/**
 * The contract every active health check implements, and the small vocabulary shared by the
 * checks and the manager that schedules them.
 */

/** One probe's verdict, with Consul's meaning: warn still routes, fail does not. */
export type ProbeStatus = 'pass' | 'warn' | 'fail';

export interface ProbeResult {
  status: ProbeStatus;
  /** What a person needs to understand the verdict (status line, exit code, error). */
  output: string;
}

/**
 * A check type. probe() runs one check and resolves with its verdict; it should resolve
 * (not reject) for anything the target did wrong, but a rejection is treated as a fail too.
 * When `signal` aborts (timeout or stop) it must give up promptly and release what it holds:
 * the manager starts the next probe only after this one has settled.
 */
export interface HealthProbe {
  probe(signal: AbortSignal): Promise<ProbeResult>;
  /** Releases anything kept between probes (a gRPC channel). Idempotent. */
  close(): void;
}

/** Output is shown in the admin API and sent to the hub, so it is kept short (Consul keeps 4 KiB). */
export const MAX_OUTPUT_CHARS = 4096;

export function truncateOutput(text: string, max = MAX_OUTPUT_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (truncated)`;
}

export const pass = (output: string): ProbeResult => ({ status: 'pass', output: truncateOutput(output) });
export const warn = (output: string): ProbeResult => ({ status: 'warn', output: truncateOutput(output) });
export const fail = (output: string): ProbeResult => ({ status: 'fail', output: truncateOutput(output) });

/** A readable message for anything thrown, including Node's system errors (ECONNREFUSED …). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** Why a probe was aborted, as a sentence for its output. */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : 'aborted';
}
