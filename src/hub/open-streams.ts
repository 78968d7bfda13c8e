/**
 * The hub's long-lived streams (Session, Watch, xDS) by the identity that opened them: at most
 * `limits.max_streams_per_identity` each, so one credential cannot hold the hub's memory in open
 * streams; and a stream lives no longer than its credential, so a revoked token or an expired
 * one (a projected ServiceAccount token is rotated hourly) cannot keep a stream open. Callers
 * without a name of their own (anonymous, auth off) are counted per address.
 */
import type { Identity } from '../auth/identity.js';
import { OutriggerError } from '../common/errors.js';

/** One open stream; `end` is set once the stream exists. */
export interface OpenStream {
  readonly identity: Identity;
  /** Ends the stream with the error (the stream's own end then calls release). */
  end?: (error: OutriggerError) => void;
  release(): void;
}

export class OpenStreams {
  private readonly counts = new Map<string, number>();
  private readonly open = new Set<OpenStream>();

  constructor(
    private readonly max: number,
    private readonly onRefusal: () => void = () => undefined,
  ) {}

  /** Counts a new stream, or throws `resource_exhausted`. Release it when the stream ends (idempotent). */
  acquire(identity: Identity, peer: string): OpenStream {
    const shared = identity.kind === 'anonymous' || identity.kind === 'open';
    const key = shared ? `${identity.kind}@${peer}` : `${identity.kind}:${identity.name}`;
    const n = this.counts.get(key) ?? 0;
    if (n >= this.max) {
      this.onRefusal();
      throw new OutriggerError('resource_exhausted', `${identity.name} already holds ${n} open streams, the most allowed (limits.max_streams_per_identity); close one first`);
    }
    this.counts.set(key, n + 1);
    let released = false;
    const stream: OpenStream = {
      identity,
      release: () => {
        if (released) return;
        released = true;
        this.open.delete(stream);
        const left = (this.counts.get(key) ?? 1) - 1;
        if (left <= 0) this.counts.delete(key);
        else this.counts.set(key, left);
      },
    };
    this.open.add(stream);
    return stream;
  }

  /** Ends every stream whose identity no longer holds: `why` says why, or undefined if it still holds. */
  endWhere(why: (identity: Identity) => string | undefined): number {
    let ended = 0;
    for (const s of [...this.open]) {
      const reason = why(s.identity);
      if (reason === undefined || s.end === undefined) continue;
      s.end(new OutriggerError('unauthenticated', reason));
      ended++;
    }
    return ended;
  }

  get size(): number {
    return this.open.size;
  }
}
