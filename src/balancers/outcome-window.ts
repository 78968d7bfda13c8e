/**
 * Successes and requests of one endpoint over the last minute, for the sidecar dashboard: six
 * buckets of ten seconds, each stamped with the ten-second slot it counts, so a bucket left from
 * an earlier minute is reset when reused. No timer and no allocation per call.
 */
const SLOT_MS = 10_000;
const SLOTS = 6;

export class OutcomeWindow {
  private readonly slot = new Float64Array(SLOTS).fill(-1);
  private readonly ok = new Uint32Array(SLOTS);
  private readonly total = new Uint32Array(SLOTS);

  /** `now`: monotonic ms. */
  record(success: boolean, now: number): void {
    const s = Math.floor(now / SLOT_MS);
    const i = s % SLOTS;
    if (this.slot[i] !== s) {
      this.slot[i] = s;
      this.ok[i] = 0;
      this.total[i] = 0;
    }
    this.total[i]!++;
    if (success) this.ok[i]!++;
  }

  /** Requests and the share that succeeded over the last minute; the rate is null with none. */
  read(now: number): { requests: number; successRate: number | null } {
    const current = Math.floor(now / SLOT_MS);
    let ok = 0;
    let total = 0;
    for (let i = 0; i < SLOTS; i++) {
      if (current - this.slot[i]! >= SLOTS) continue;
      ok += this.ok[i]!;
      total += this.total[i]!;
    }
    return { requests: total, successRate: total === 0 ? null : ok / total };
  }
}
