import type { Clock, TimerHandle } from '../common/clock.js';
import { invalidArgument } from '../common/errors.js';
import { fail, truncateOutput, type ProbeResult, type ProbeStatus } from './probe.js';

/** Consul's words for the same three states, accepted so Consul users' habits carry over. */
const STATUS_WORDS: Record<string, ProbeStatus> = {
  pass: 'pass',
  passing: 'pass',
  warn: 'warn',
  warning: 'warn',
  fail: 'fail',
  critical: 'fail',
};

/** A TTL status from outside (the admin API); throws invalid_argument naming `status`. */
export function parseTtlStatus(value: unknown): ProbeStatus {
  const status = typeof value === 'string' ? STATUS_WORDS[value.toLowerCase()] : undefined;
  if (status === undefined) {
    throw invalidArgument('status', `status must be one of pass, warn, fail (or passing, warning, critical); got ${JSON.stringify(value) ?? String(value)}`);
  }
  return status;
}

export interface TtlCheckOptions {
  ttlMs: number;
  clock: Clock;
  /** Receives every report, and a fail each time a whole TTL passes without one. */
  onResult: (result: ProbeResult) => void;
}

/**
 * TTL check: the app reports its own status; silence for a whole TTL is a fail. Unlike the
 * other checks it is pushed, not polled, so it is not a HealthProbe: the manager listens to it.
 * The expiry re-arms after it fires, so each further silent TTL counts as one more fail
 * (which keeps a `fall` threshold above 1 meaningful).
 */
export class TtlCheck {
  private timer: TimerHandle | undefined;
  private lastOutput = '';
  private closed = false;

  constructor(private readonly options: TtlCheckOptions) {}

  /** Starts the TTL window. */
  start(): void {
    if (!this.closed) this.arm();
  }

  /** A report from the app. `status` may be any word parseTtlStatus accepts. */
  update(status: ProbeStatus | string, output = ''): ProbeResult {
    const result: ProbeResult = { status: parseTtlStatus(status), output: truncateOutput(output) };
    if (this.closed) return result;
    this.lastOutput = result.output;
    this.arm();
    this.options.onResult(result);
    return result;
  }

  close(): void {
    this.closed = true;
    this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const { clock, ttlMs } = this.options;
    clock.clearTimeout(this.timer);
    this.timer = clock
      .setTimeout(() => {
        this.timer = undefined;
        this.arm();
        const last = this.lastOutput === '' ? '' : ` (last output: ${this.lastOutput})`;
        this.options.onResult(fail(`TTL expired: no report within ${ttlMs}ms${last}`));
      }, ttlMs)
      .unref();
  }
}
