/**
 * A promise that settles once: resolved or rejected by its owner, or rejected by the clock after
 * a bound. drain() and deregister() wait for a hub's answer this way, so a caller shutting down
 * never waits on an unreachable hub for longer than it asked.
 */
import type { Clock, TimerHandle } from '../common/clock.js';

export class BoundedWait {
  readonly promise: Promise<void>;
  private settled = false;
  private readonly timer: TimerHandle;
  private settleResolve!: () => void;
  private settleReject!: (err: Error) => void;

  constructor(
    private readonly clock: Clock,
    ms: number,
    onTimeout: () => Error,
    private readonly onSettled: () => void = () => {},
  ) {
    this.promise = new Promise<void>((resolve, reject) => {
      this.settleResolve = resolve;
      this.settleReject = reject;
    });
    // Not unref'd: whoever awaits this expects an answer within the bound, even in a process
    // with nothing else to keep it alive.
    this.timer = clock.setTimeout(() => this.reject(onTimeout()), ms);
  }

  resolve(): void {
    if (this.finish()) this.settleResolve();
  }

  reject(err: Error): void {
    if (this.finish()) this.settleReject(err);
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.clock.clearTimeout(this.timer);
    this.onSettled();
    return true;
  }
}
