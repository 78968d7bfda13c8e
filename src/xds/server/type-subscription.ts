/**
 * One resource type on one ADS stream: what the client subscribed to, what is pending for it,
 * and where the request/response exchange stands (nonce, versions sent and accepted, the last
 * NACK). Kept apart from the stream, as go-control-plane keeps its subscription type, so the
 * rules live in one place that a delta stream can share.
 */
import type { DiscoveryRequest } from '../ads-service.js';
import { isFullStateType, type XdsTypeUrl } from '../type-urls.js';
import type { SubscriptionIndex } from './subscription-index.js';

export interface AdsTypeInfo {
  type_url: XdsTypeUrl;
  wildcard: boolean;
  names: string[];
  sent_version?: string;
  /** The version the client last accepted; unchanged by a NACK. */
  acked_version?: string;
  nack?: { version: string; nonce: string; message: string };
  responses: number;
  pending: boolean;
}

/** What a request said about the exchange. */
export type RequestKind =
  /** No nonce: the first request for the type, or the client starting over. */
  | 'initial'
  /** Answers an older response: the client will answer the newer one, so this carries nothing new. */
  | 'stale'
  | 'ack'
  | 'nack';

export class TypeSubscription<Owner> {
  wildcard = false;
  names = new Set<string>();
  /** Full-state types: send a response. Others: send every subscribed resource. */
  pendingAll = false;
  /** Per-resource types: changed (or newly subscribed) resources to send. */
  readonly pendingNames = new Set<string>();
  /** When the oldest registry change not yet written happened (monotonic ms), for push latency. */
  changeAt: number | undefined;
  responses = 0;
  private namesKeyCache: string | undefined;
  /** The client has named resources on this type; an empty list then means "none", not "all". */
  private sawNames = false;
  private nonce: string | undefined;
  private sentVersion: string | undefined;
  private ackedVersion: string | undefined;
  private rejectedResponse: { version: string; nonce: string; message: string } | undefined;

  constructor(
    readonly type: XdsTypeUrl,
    private readonly index: SubscriptionIndex<Owner>,
    private readonly owner: Owner,
  ) {}

  get hasPending(): boolean {
    return this.pendingAll || this.pendingNames.size > 0;
  }

  /** The subscribed names sorted and joined: the shared-body key of a full-state response. */
  get namesKey(): string {
    return (this.namesKeyCache ??= [...this.names].sort().join('\n'));
  }

  /** The version of the last response written on this type. */
  get lastSentVersion(): string | undefined {
    return this.sentVersion;
  }

  /**
   * Takes a request's nonce and error_detail into the ACK/NACK state (xDS protocol, "nonces"):
   * a NACK keeps the version the client last accepted, with the rejected one and its message.
   */
  classify(req: DiscoveryRequest, message: string): RequestKind {
    const nonce = req.response_nonce;
    if (nonce === '') return 'initial';
    if (nonce !== this.nonce) return 'stale';
    if (req.error_detail !== null && req.error_detail !== undefined) {
      this.rejectedResponse = { version: this.sentVersion ?? '', nonce, message };
      return 'nack';
    }
    this.ackedVersion = req.version_info;
    this.rejectedResponse = undefined;
    return 'ack';
  }

  /**
   * Applies a request: its resource_names become the subscription, and what the client now
   * lacks becomes pending. On Listener and Cluster, an empty list on a stream that never named
   * anything (or the name "*") means every resource (legacy and explicit wildcard). An ACK of
   * the current version with an unchanged subscription leaves nothing pending.
   */
  apply(kind: Exclude<RequestKind, 'stale'>, requested: readonly string[]): void {
    const explicitWildcard = requested.includes('*');
    const wildcard = isFullStateType(this.type) && (explicitWildcard || (requested.length === 0 && !this.sawNames));
    if (requested.length > 0) this.sawNames = true;
    const next = new Set(requested.filter((n) => n !== '*'));
    const added: string[] = [];
    for (const name of next) {
      if (this.names.has(name)) continue;
      added.push(name);
      this.index.add(this.type, name, this.owner);
    }
    let removed = 0;
    for (const name of this.names) {
      if (next.has(name)) continue;
      removed++;
      this.pendingNames.delete(name);
      this.index.delete(this.type, name, this.owner);
    }
    if (added.length > 0 || removed > 0) {
      this.names = next;
      this.namesKeyCache = undefined;
    }
    const wildcardOn = wildcard && !this.wildcard;
    if (wildcard !== this.wildcard) this.index.setWildcard(this.type, this.owner, wildcard);
    this.wildcard = wildcard;

    if (kind === 'initial') this.pendingAll = true;
    else if (isFullStateType(this.type)) {
      if (added.length > 0 || wildcardOn) this.pendingAll = true;
    } else for (const name of added) this.pendingNames.add(name);
  }

  /** Registry changes touched these resources (all of them for a full-state type); true if any is pending now. */
  markChanged(names: Iterable<string>, changeAt: number): boolean {
    if (isFullStateType(this.type)) this.pendingAll = true;
    else for (const name of names) if (this.wildcard || this.names.has(name)) this.pendingNames.add(name);
    if (!this.hasPending) return false;
    this.changeAt = this.changeAt === undefined ? changeAt : Math.min(this.changeAt, changeAt);
    return true;
  }

  /** Forgets what was pending (the response for it is being built); returns when the oldest change happened. */
  clearPending(): number | undefined {
    const changeAt = this.changeAt;
    this.pendingAll = false;
    this.pendingNames.clear();
    this.changeAt = undefined;
    return changeAt;
  }

  /** A response with this nonce and version was written. */
  sent(nonce: string, version: string): void {
    this.nonce = nonce;
    this.sentVersion = version;
    this.responses++;
  }

  /** Drops the subscription from the server's index; the stream is gone. */
  release(): void {
    for (const name of this.names) this.index.delete(this.type, name, this.owner);
    if (this.wildcard) this.index.setWildcard(this.type, this.owner, false);
  }

  info(): AdsTypeInfo {
    return {
      type_url: this.type,
      wildcard: this.wildcard,
      names: [...this.names].sort(),
      ...(this.sentVersion !== undefined ? { sent_version: this.sentVersion } : {}),
      ...(this.ackedVersion !== undefined ? { acked_version: this.ackedVersion } : {}),
      ...(this.rejectedResponse !== undefined ? { nack: { ...this.rejectedResponse } } : {}),
      responses: this.responses,
      pending: this.hasPending,
    };
  }
}
