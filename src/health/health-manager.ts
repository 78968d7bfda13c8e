import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import type { CheckedHealth } from '../model/health.js';
import type { HealthCheckConfig, ScheduleSettings } from './check-config.js';
import { createProbe, type ProbeTarget } from './probe-factory.js';
import { describeError, fail, type HealthProbe, type ProbeResult, type ProbeStatus } from './probe.js';
import { TtlCheck } from './ttl-check.js';

/** One finished probe (or TTL report/expiry), as the manager recorded it. */
export interface CheckResult extends ProbeResult {
  durationMs: number;
  /** Clock.now() when the result was recorded. */
  at: number;
  timedOut: boolean;
}

/** Emitted when the instance's health changes. */
export interface HealthTransition {
  health: CheckedHealth;
  previous: CheckedHealth;
  status: ProbeStatus;
  output: string;
  durationMs: number;
}

/** Counters for metrics; a snapshot, safe to keep. */
export interface HealthStats {
  probes: number;
  passes: number;
  warns: number;
  fails: number;
  timeouts: number;
  transitions: number;
  consecutivePasses: number;
  consecutiveFails: number;
  lastDurationMs: number | undefined;
  totalDurationMs: number;
}

export interface HealthManagerEvents {
  transition: [HealthTransition];
  result: [CheckResult];
}

export interface HealthManagerOptions {
  clock?: Clock;
  /** Source of randomness in [0, 1) for jitter; injectable so tests are deterministic. */
  random?: () => number;
  logger?: Logger;
  /** Where network checks connect when the config has no address/port (the app's own). */
  target?: ProbeTarget;
  /** Replaces the probe the config would build (a custom check type, or a test double). */
  probe?: HealthProbe;
  /** Names the check in config errors (e.g. `services[0].health_check`). */
  field?: string;
}

/**
 * Runs one health check on its schedule and turns results into health with rise/fall
 * thresholds (HAProxy's model): `rise` passing results in a row make the instance HEALTHY,
 * `fall` failing results in a row make it UNHEALTHY. Warn counts as passing, as in Consul's
 * DNS, but stays visible as the last status. A new (UNKNOWN) instance becomes HEALTHY on its
 * first pass, as Envoy treats new hosts, so it is routable as soon as it can serve.
 *
 * At most one probe is in flight: the next one is scheduled only once the previous one has
 * settled (it is aborted at the timeout), so a slow app is never piled up on.
 *
 * Events: 'result' after every probe, 'transition' when health changes.
 */
export class HealthManager extends EventEmitter<HealthManagerEvents> {
  readonly config: HealthCheckConfig;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly probe: HealthProbe | undefined;
  private readonly timing: Pick<ScheduleSettings, 'intervalMs' | 'timeoutMs' | 'jitter'> = { intervalMs: 0, timeoutMs: 0, jitter: 0 };
  private readonly ttl: TtlCheck | undefined;

  private state: CheckedHealth;
  private last: CheckResult | undefined;
  private readonly counters: HealthStats = {
    probes: 0,
    passes: 0,
    warns: 0,
    fails: 0,
    timeouts: 0,
    transitions: 0,
    consecutivePasses: 0,
    consecutiveFails: 0,
    lastDurationMs: undefined,
    totalDurationMs: 0,
  };

  private started = false;
  private stopped = false;
  private timer: TimerHandle | undefined;
  private inFlight: AbortController | undefined;
  private inFlightDone: Promise<void> = Promise.resolve();

  constructor(config: HealthCheckConfig, options: HealthManagerOptions = {}) {
    super();
    this.config = config;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = (options.logger ?? silentLogger).child({ component: 'health', check: config.type });
    this.state = config.initialStatus === 'healthy' ? 'HEALTHY' : 'UNKNOWN';
    if (config.type === 'ttl') {
      this.ttl = new TtlCheck({ ttlMs: config.ttlMs, clock: this.clock, onResult: (r) => this.record(r, 0, false) });
    } else {
      this.probe = options.probe ?? createProbe(config, options.target, options.field);
      this.timing = { intervalMs: config.intervalMs, timeoutMs: config.timeoutMs, jitter: config.jitter };
    }
  }

  /** Starts probing (or, for TTL, the first TTL window). The first probe runs at once, plus jitter. */
  start(): void {
    if (this.stopped) throw new OutriggerError('failed_precondition', 'a stopped health check cannot be started again');
    if (this.started) return;
    this.started = true;
    if (this.ttl !== undefined) this.ttl.start();
    else this.schedule(this.jitterMs());
  }

  /**
   * Stops the schedule, aborts a probe in flight and releases the probe's resources.
   * Resolves once nothing of this check is left running (no timers, sockets or processes).
   */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
      this.ttl?.close();
      this.inFlight?.abort(new Error('health check stopped'));
    }
    await this.inFlightDone;
    this.probe?.close();
  }

  /**
   * A TTL check's report from the app (the admin API calls this). `status` is pass, warn or
   * fail (Consul's passing/warning/critical work too). Throws failed_precondition for other check
   * types, invalid_argument for an unknown status.
   */
  report(status: ProbeStatus | string, output = ''): CheckResult {
    if (this.ttl === undefined) throw new OutriggerError('failed_precondition', `this is a ${this.config.type} check; only a ttl check takes reports`);
    if (this.stopped) throw new OutriggerError('failed_precondition', 'the health check is stopped');
    this.ttl.update(status, output);
    return this.last as CheckResult;
  }

  get health(): CheckedHealth {
    return this.state;
  }

  /** Whether traffic may be sent: only a HEALTHY instance (warn included) is routable. */
  get routable(): boolean {
    return this.state === 'HEALTHY';
  }

  get lastResult(): CheckResult | undefined {
    return this.last;
  }

  get stats(): HealthStats {
    return { ...this.counters };
  }

  get running(): boolean {
    return this.started && !this.stopped;
  }

  private jitterMs(): number {
    const { jitter, intervalMs } = this.timing;
    return jitter > 0 ? Math.floor(this.random() * jitter * intervalMs) : 0;
  }

  private schedule(delayMs: number): void {
    this.timer = this.clock
      .setTimeout(() => {
        this.timer = undefined;
        // stop() waits on this, so it returns only after the probe's timers are cleared too.
        this.inFlightDone = this.runProbe().catch((err: unknown) => {
          this.logger.error('health probe loop failed', { error: describeError(err) });
        });
      }, delayMs)
      .unref();
  }

  private async runProbe(): Promise<void> {
    const probe = this.probe;
    if (probe === undefined || this.stopped) return;
    const { timeoutMs, intervalMs } = this.timing;
    const controller = new AbortController();
    let timedOut = false;
    const timeout = this.clock
      .setTimeout(() => {
        timedOut = true;
        controller.abort(new Error(`timed out after ${timeoutMs}ms`));
      }, timeoutMs)
      .unref();
    const started = this.clock.monotonic();
    this.inFlight = controller;
    // The async wrapper turns a probe that throws synchronously into a fail like any other.
    let result = await (async () => probe.probe(controller.signal))().catch((err: unknown) => fail(describeError(err)));
    this.clock.clearTimeout(timeout);
    this.inFlight = undefined;
    if (this.stopped) return;
    // Whatever the probe made of its abort, a probe that ran out of time failed.
    if (timedOut) {
      const why = `timed out after ${timeoutMs}ms`;
      result = { status: 'fail', output: result.output.includes(why) ? result.output : `${why}${result.output === '' ? '' : `: ${result.output}`}` };
    }
    this.record(result, this.clock.monotonic() - started, timedOut);
    if (!this.stopped) this.schedule(intervalMs + this.jitterMs());
  }

  private record(result: ProbeResult, durationMs: number, timedOut: boolean): void {
    const c = this.counters;
    c.probes++;
    c.lastDurationMs = durationMs;
    c.totalDurationMs += durationMs;
    if (timedOut) c.timeouts++;
    if (result.status === 'fail') {
      c.fails++;
      c.consecutiveFails++;
      c.consecutivePasses = 0;
    } else {
      if (result.status === 'warn') c.warns++;
      else c.passes++;
      c.consecutivePasses++;
      c.consecutiveFails = 0;
    }

    const previous = this.state;
    const { rise, fall } = this.config;
    if (result.status === 'fail' && previous !== 'UNHEALTHY' && c.consecutiveFails >= fall) this.state = 'UNHEALTHY';
    // A new instance needs one pass (Envoy's rule for new hosts); a failed one needs `rise`.
    const needed = previous === 'UNKNOWN' ? 1 : rise;
    if (result.status !== 'fail' && previous !== 'HEALTHY' && c.consecutivePasses >= needed) this.state = 'HEALTHY';

    const last: CheckResult = { ...result, durationMs, at: this.clock.now(), timedOut };
    this.last = last;
    this.logger.debug('probe', { status: result.status, durationMs, output: result.output });
    this.safeEmit('result', () => this.emit('result', last));
    if (this.state !== previous) {
      c.transitions++;
      this.logger.info('health changed', { from: previous, to: this.state, status: result.status, output: result.output });
      const transition: HealthTransition = { health: this.state, previous, status: result.status, output: result.output, durationMs };
      this.safeEmit('transition', () => this.emit('transition', transition));
    }
  }

  /** A listener that throws must not break the schedule. */
  private safeEmit(event: keyof HealthManagerEvents, emit: () => void): void {
    try {
      emit();
    } catch (err) {
      this.logger.error('health listener threw', { event, error: describeError(err) });
    }
  }
}
