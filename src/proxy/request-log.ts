/**
 * A cluster's last requests, as `linkerd viz tap` shows them, for the sidecar dashboard: a ring
 * of fixed size, so the newest replaces the oldest; one record per finished call, no timer.
 */
export interface RequestRecord {
  /** When the call finished (epoch ms). */
  readonly at: number;
  readonly protocol: string;
  readonly method: string;
  readonly authority: string;
  readonly path: string;
  /** The status answered downstream; 0 when the downstream was reset without one. */
  readonly status: number;
  /** The endpoint of the last try; empty when none was picked. */
  readonly endpoint: string;
  readonly durationMs: number;
  readonly retries: number;
}

/** What the log reads of a ClusterCall (the call's start, the endpoints tried, its retries). */
export interface LoggedCall {
  readonly startedAt: number;
  readonly retry: { readonly tried: readonly string[]; readonly retries: number };
}

export class RequestLog {
  private readonly ring: Array<RequestRecord | undefined>;
  private next = 0;

  constructor(readonly capacity = 100) {
    this.ring = new Array<RequestRecord | undefined>(capacity);
  }

  push(record: RequestRecord): void {
    this.ring[this.next] = record;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first. */
  recent(): RequestRecord[] {
    const out: RequestRecord[] = [];
    for (let i = 1; i <= this.capacity; i++) {
      const r = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (r === undefined) break;
      out.push(r);
    }
    return out;
  }
}
