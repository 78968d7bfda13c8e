/**
 * At most `limits.max_streams_per_identity` long-lived streams (Session, Watch, xDS) open at once
 * per identity, so one credential cannot hold the hub's memory in open streams. Callers without
 * a name of their own (anonymous, auth off) are counted per address.
 */
import type { Identity } from '../auth/identity.js';
import { OutriggerError } from '../common/errors.js';

export class StreamLimiter {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly onRefusal: () => void = () => undefined,
  ) {}

  /** Counts a new stream; returns its release (idempotent), or throws `resource_exhausted`. */
  acquire(identity: Identity, peer: string): () => void {
    const shared = identity.kind === 'anonymous' || identity.kind === 'open';
    const key = shared ? `${identity.kind}@${peer}` : `${identity.kind}:${identity.name}`;
    const n = this.open.get(key) ?? 0;
    if (n >= this.max) {
      this.onRefusal();
      throw new OutriggerError('resource_exhausted', `${identity.name} already holds ${n} open streams, the most allowed (limits.max_streams_per_identity); close one first`);
    }
    this.open.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left <= 0) this.open.delete(key);
      else this.open.set(key, left);
    };
  }
}
