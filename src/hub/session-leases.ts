/**
 * Which Session stream holds which instance's lease. A sidecar that reconnects registers its
 * instance again on a new stream, often before the hub has noticed the old stream is dead; when
 * the old one finally ends it must not start the TTL of a lease the new one now holds. So only
 * the latest claimant releases.
 */
export class SessionLeases<Owner> {
  private readonly owners = new Map<string, Owner>();

  /** `owner` now holds the lease of `id`, taking it from any earlier session. */
  claim(id: string, owner: Owner): void {
    this.owners.set(id, owner);
  }

  /** Forgets `id` if `owner` holds it; true when it did (the caller then releases the lease). */
  drop(id: string, owner: Owner): boolean {
    if (this.owners.get(id) !== owner) return false;
    this.owners.delete(id);
    return true;
  }

  holder(id: string): Owner | undefined {
    return this.owners.get(id);
  }
}
