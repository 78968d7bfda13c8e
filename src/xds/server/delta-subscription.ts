/**
 * One resource type on one delta (incremental) ADS stream: the names subscribed (or a wildcard),
 * the version of each resource the client holds, what is pending, and the ACK/NACK state of the
 * last response. Per the xDS protocol, subscription changes apply whatever nonce a request
 * carries; the nonce only pairs an ACK or NACK with the response it answers.
 */
import type { XdsTypeUrl } from '../type-urls.js';
import type { SubscriptionIndex } from './subscription-index.js';

export interface DeltaTypeInfo {
  type_url: XdsTypeUrl;
  wildcard: boolean;
  names: string[];
  /** The version of each resource the client holds, as the hub believes (NACKed ones reverted). */
  resource_versions: Record<string, string>;
  /** system_version_info of the last response sent, and of the last one the client ACKed. */
  sent_version?: string;
  acked_version?: string;
  nack?: { nonce: string; message: string };
  responses: number;
  pending: boolean;
}

/** What the last response changed on the client, so that a NACK can put it back. */
interface SentResponse {
  nonce: string;
  version: string;
  /** Per resource in it, the version the client held before (undefined: none). */
  before: Map<string, string | undefined>;
}

export class DeltaSubscription<Owner> {
  wildcard = false;
  readonly names = new Set<string>();
  /** Resource name → the version the client holds. */
  readonly known = new Map<string, string>();
  /** Every resource of the type may have to be compared (a new wildcard, or a fresh stream). */
  pendingAll = false;
  readonly pending = new Set<string>();
  /** Subscribed and not yet answered: if absent, the client is told so (removed_resources), not left to time out. */
  readonly unanswered = new Set<string>();
  changeAt: number | undefined;
  responses = 0;
  started = false;
  /** The first request of the type on the stream gets a response even when the client holds everything (so it knows it is in sync). */
  mustAnswer = false;
  private last: SentResponse | undefined;
  private rejected: { nonce: string; message: string } | undefined;
  private sentVersion: string | undefined;
  private ackedVersion: string | undefined;

  constructor(
    readonly type: XdsTypeUrl,
    private readonly index: SubscriptionIndex<Owner>,
    private readonly owner: Owner,
  ) {}

  get hasPending(): boolean {
    return this.pendingAll || this.pending.size > 0 || this.mustAnswer;
  }

  /** An ACK or NACK of the last response; one of an older response carries nothing. Returns what it was. */
  answer(nonce: string, error: string | undefined): 'ack' | 'nack' | 'stale' {
    if (this.last === undefined || nonce !== this.last.nonce) return 'stale';
    if (error === undefined) {
      this.rejected = undefined;
      this.ackedVersion = this.last.version;
      return 'ack';
    }
    // The client kept what it had before: so does our record of it.
    for (const [name, version] of this.last.before) {
      if (version === undefined) this.known.delete(name);
      else this.known.set(name, version);
    }
    this.rejected = { nonce, message: error };
    this.last = undefined;
    return 'nack';
  }

  /** The client's first request for the type on this stream: what it already holds (reconnect). */
  start(initialVersions: Iterable<[string, string]>): void {
    this.started = true;
    this.mustAnswer = true;
    for (const [name, version] of initialVersions) this.known.set(name, version);
  }

  subscribe(name: string): void {
    if (name === '*') {
      this.setWildcard(true);
      return;
    }
    if (!this.names.has(name)) {
      this.names.add(name);
      this.unanswered.add(name);
      this.index.add(this.type, name, this.owner);
    }
    this.pending.add(name);
  }

  unsubscribe(name: string): void {
    if (name === '*') {
      this.setWildcard(false);
      return;
    }
    if (!this.names.delete(name)) return;
    this.index.delete(this.type, name, this.owner);
    this.pending.delete(name);
    this.unanswered.delete(name);
    this.known.delete(name);
  }

  setWildcard(on: boolean): void {
    if (on === this.wildcard) return;
    this.wildcard = on;
    this.index.setWildcard(this.type, this.owner, on);
    if (on) this.pendingAll = true;
  }

  /** Whether a change of `name` concerns this subscription. */
  wants(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  markChanged(names: Iterable<string>, changeAt: number): boolean {
    for (const name of names) if (this.wants(name)) this.pending.add(name);
    if (!this.hasPending) return false;
    this.changeAt = this.changeAt === undefined ? changeAt : Math.min(this.changeAt, changeAt);
    return true;
  }

  /** The names to compare now, and forgets them as pending; `all` lists every resource of the type. */
  takePending(all: () => Iterable<string>): { names: Set<string>; changeAt: number | undefined } {
    const names = new Set(this.pending);
    if (this.pendingAll) {
      for (const name of all()) names.add(name);
      // Resources the client holds and the hub no longer has are removals to send.
      for (const name of this.known.keys()) names.add(name);
      for (const name of this.names) names.add(name);
    }
    const changeAt = this.changeAt;
    this.pending.clear();
    this.pendingAll = false;
    this.changeAt = undefined;
    return { names, changeAt };
  }

  /** A response with this nonce now carries these resources (name → version) and removals. */
  sent(nonce: string, version: string, versions: ReadonlyArray<readonly [string, string]>, removed: readonly string[]): void {
    const before = new Map<string, string | undefined>();
    for (const [name, version] of versions) {
      before.set(name, this.known.get(name));
      this.known.set(name, version);
    }
    for (const name of removed) {
      before.set(name, this.known.get(name));
      this.known.delete(name);
    }
    this.last = { nonce, version, before };
    this.mustAnswer = false;
    this.sentVersion = version;
    this.responses++;
  }

  release(): void {
    for (const name of this.names) this.index.delete(this.type, name, this.owner);
    if (this.wildcard) this.index.setWildcard(this.type, this.owner, false);
  }

  info(): DeltaTypeInfo {
    return {
      type_url: this.type,
      wildcard: this.wildcard,
      names: [...this.names].sort(),
      resource_versions: Object.fromEntries([...this.known.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))),
      ...(this.sentVersion !== undefined ? { sent_version: this.sentVersion } : {}),
      ...(this.ackedVersion !== undefined ? { acked_version: this.ackedVersion } : {}),
      ...(this.rejected !== undefined ? { nack: { ...this.rejected } } : {}),
      responses: this.responses,
      pending: this.hasPending,
    };
  }
}
