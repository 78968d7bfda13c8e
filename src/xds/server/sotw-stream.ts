import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Clock } from '../../common/clock.js';
import { invalidArgument } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { HubMetrics } from '../../metrics/hub-metrics.js';
import type { DiscoveryRequest, SotwCall } from '../ads-service.js';
import { ResponseEncoder } from './discovery-response.js';
import type { CachedResource, ResourceCache, TypeResources } from './resource-cache.js';
import type { SendQueue } from './send-queue.js';
import type { SubscriptionIndex } from './subscription-index.js';
import { XDS_TYPE_URLS, isFullStateType, isXdsTypeUrl, shortTypeName, type XdsTypeUrl } from '../type-urls.js';

/** Bounds on one request, so that one client cannot make the hub hold arbitrary state. */
export const REQUEST_LIMITS = { resourceNames: 10_000, nameLength: 512 } as const;

/** What a stream shares with every other stream of the server. */
export interface StreamEnv {
  readonly cache: ResourceCache;
  readonly encoder: ResponseEncoder;
  readonly index: SubscriptionIndex<SotwStream>;
  readonly queue: SendQueue<SotwStream>;
  readonly metrics: HubMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** One resource type on one stream: the client's subscription and where the exchange stands. */
interface TypeState {
  readonly type: XdsTypeUrl;
  wildcard: boolean;
  names: Set<string>;
  /** The subscribed names sorted and joined: the shared-body key of a full-state response. */
  namesKey: string | undefined;
  /** The client has named resources on this type; an empty list then means "none", not "all". */
  sawNames: boolean;
  /** Full-state types: send a response. Others: send every subscribed resource. */
  pendingAll: boolean;
  /** Per-resource types: changed (or newly subscribed) resources to send. */
  pendingNames: Set<string>;
  /** When the oldest registry change not yet written happened (monotonic ms), for push latency. */
  changeAt: number | undefined;
  nonce: string | undefined;
  sentVersion: string | undefined;
  ackedVersion: string | undefined;
  rejected: { version: string; nonce: string; message: string } | undefined;
  responses: number;
}

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

export interface AdsStreamInfo {
  id: number;
  node: string | undefined;
  peer: string;
  /** A response is handed to grpc-js and not yet flushed to the connection (at most one). */
  writing: boolean;
  types: AdsTypeInfo[];
}

const hasPending = (st: TypeState): boolean => st.pendingAll || st.pendingNames.size > 0;

/**
 * One state-of-the-world ADS stream. Requests update the subscription and the ACK/NACK state;
 * changes only mark what is pending (a flag, or names within the subscription), and the
 * response is built from the cache when the stream's turn comes. So a stream that stops
 * reading holds at most one written response plus "these are stale", never a backlog: state
 * of the world lets it skip straight to the latest versions once it drains.
 */
export class SotwStream {
  private readonly types = new Map<XdsTypeUrl, TypeState>();
  private readonly warnedTypes = new Set<string>();
  private nodeId: string | undefined;
  private nonces = 0;
  private writing = false;
  private closed = false;

  constructor(
    readonly id: number,
    private readonly call: SotwCall,
    private readonly env: StreamEnv,
  ) {}

  get node(): string | undefined {
    return this.nodeId;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Handles one DiscoveryRequest; throws an OutriggerError for one the hub will not take. */
  onRequest(req: DiscoveryRequest): void {
    if (this.closed) return;
    validate(req);
    if (this.nodeId === undefined) {
      this.nodeId = clip(req.node?.id ?? '', 256);
      this.env.logger.info('xds stream opened', {
        stream: this.id,
        node: this.nodeId,
        node_cluster: req.node?.cluster ?? '',
        user_agent: req.node?.user_agent_name ?? '',
        peer: this.call.getPeer(),
      });
    }
    if (!isXdsTypeUrl(req.type_url)) {
      if (!this.warnedTypes.has(req.type_url) && this.warnedTypes.size < 16) {
        this.warnedTypes.add(req.type_url);
        this.env.logger.warn('xds: ignoring a request for a type the hub does not serve', { stream: this.id, node: this.nodeId, type_url: req.type_url });
      }
      return;
    }
    const st = this.state(req.type_url);
    const nonce = req.response_nonce;
    if (nonce !== '') {
      // A request answering an older response: the client will answer the newer one with its
      // full, current subscription, so this one carries nothing new (xDS protocol, "nonces").
      if (nonce !== st.nonce) return;
      if (req.error_detail !== null && req.error_detail !== undefined) this.rejected(st, req);
      else {
        st.ackedVersion = req.version_info;
        st.rejected = undefined;
      }
    }
    const { added, wildcardOn } = this.subscribe(st, req.resource_names);
    if (nonce === '') {
      // First request for the type (or the client starting over): it gets the full picture.
      st.pendingAll = true;
    } else if (isFullStateType(st.type)) {
      if (added.length > 0 || wildcardOn) st.pendingAll = true;
    } else {
      for (const name of added) st.pendingNames.add(name);
    }
    // An ACK of the current version with an unchanged subscription gets no answer.
    if (hasPending(st)) this.env.queue.enqueue(this);
  }

  /** Registry changes touched these resources of the type (all of them for a full-state type). */
  markChanged(type: XdsTypeUrl, names: Iterable<string>, changeAt: number): void {
    const st = this.types.get(type);
    if (st === undefined || this.closed) return;
    if (isFullStateType(type)) st.pendingAll = true;
    else for (const name of names) if (st.wildcard || st.names.has(name)) st.pendingNames.add(name);
    if (!hasPending(st)) return;
    st.changeAt = st.changeAt === undefined ? changeAt : Math.min(st.changeAt, changeAt);
    this.env.queue.enqueue(this);
  }

  /** Writes the first pending response, unless one is still on its way out. */
  flush(): void {
    if (this.closed || this.writing) return;
    for (const type of XDS_TYPE_URLS) {
      const st = this.types.get(type);
      if (st === undefined || !hasPending(st)) continue;
      const out = this.response(st);
      const changeAt = st.changeAt;
      st.pendingAll = false;
      st.pendingNames.clear();
      st.changeAt = undefined;
      if (out === undefined) continue;
      this.write(st, out.body, out.version, changeAt);
      return;
    }
  }

  /** Ends the stream with a status (the server is closing, or the client broke the protocol). */
  terminate(code: GrpcStatus, details: string): void {
    if (this.closed) return;
    this.dispose();
    if (this.call.writableEnded || this.call.destroyed) return;
    // grpc-js turns an 'error' emitted on a server stream into the stream's status.
    this.call.emit('error', { code, details });
  }

  /** The client half-closed: close our side with OK. */
  end(): void {
    if (this.closed) return;
    this.dispose();
    if (!this.call.writableEnded && !this.call.destroyed) this.call.end();
  }

  /** Drops the stream's subscriptions; idempotent. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.env.queue.remove(this);
    for (const st of this.types.values()) {
      for (const name of st.names) this.env.index.delete(st.type, name, this);
      if (st.wildcard) this.env.index.setWildcard(st.type, this, false);
    }
  }

  describe(): AdsStreamInfo {
    return {
      id: this.id,
      node: this.nodeId,
      peer: this.call.getPeer(),
      writing: this.writing,
      types: [...this.types.values()].map((st) => ({
        type_url: st.type,
        wildcard: st.wildcard,
        names: [...st.names].sort(),
        ...(st.sentVersion !== undefined ? { sent_version: st.sentVersion } : {}),
        ...(st.ackedVersion !== undefined ? { acked_version: st.ackedVersion } : {}),
        ...(st.rejected !== undefined ? { nack: { ...st.rejected } } : {}),
        responses: st.responses,
        pending: hasPending(st),
      })),
    };
  }

  private state(type: XdsTypeUrl): TypeState {
    let st = this.types.get(type);
    if (st === undefined) {
      st = {
        type,
        wildcard: false,
        names: new Set(),
        namesKey: undefined,
        sawNames: false,
        pendingAll: false,
        pendingNames: new Set(),
        changeAt: undefined,
        nonce: undefined,
        sentVersion: undefined,
        ackedVersion: undefined,
        rejected: undefined,
        responses: 0,
      };
      this.types.set(type, st);
    }
    return st;
  }

  private rejected(st: TypeState, req: DiscoveryRequest): void {
    const message = clip(req.error_detail?.message ?? '', 2048);
    st.rejected = { version: st.sentVersion ?? '', nonce: req.response_nonce, message };
    this.env.metrics.nacks.inc({ type: st.type });
    this.env.logger.warn('xds: client rejected a response (NACK) and keeps its last accepted version', {
      stream: this.id,
      node: this.nodeId,
      type: shortTypeName(st.type),
      rejected_version: st.sentVersion,
      kept_version: req.version_info,
      code: req.error_detail?.code,
      error_detail: message,
    });
  }

  /**
   * Applies a request's resource_names. On Listener and Cluster, an empty list on a stream that
   * never named anything (or the name "*") means every resource (legacy and explicit wildcard).
   */
  private subscribe(st: TypeState, requested: readonly string[]): { added: string[]; wildcardOn: boolean } {
    const explicitWildcard = requested.includes('*');
    const wildcard = isFullStateType(st.type) && (explicitWildcard || (requested.length === 0 && !st.sawNames));
    if (requested.length > 0) st.sawNames = true;
    const next = new Set(requested.filter((n) => n !== '*'));
    const added: string[] = [];
    for (const name of next) {
      if (st.names.has(name)) continue;
      added.push(name);
      this.env.index.add(st.type, name, this);
    }
    let removed = 0;
    for (const name of st.names) {
      if (next.has(name)) continue;
      removed++;
      st.pendingNames.delete(name);
      this.env.index.delete(st.type, name, this);
    }
    if (added.length > 0 || removed > 0) {
      st.names = next;
      st.namesKey = undefined;
    }
    const wildcardOn = wildcard && !st.wildcard;
    if (wildcard !== st.wildcard) this.env.index.setWildcard(st.type, this, wildcard);
    st.wildcard = wildcard;
    return { added, wildcardOn };
  }

  /** The response for a type at the cache's current version, or nothing when there is nothing to say. */
  private response(st: TypeState): { body: Buffer; version: string } | undefined {
    const resources = this.env.cache.of(st.type);
    const version = resources.version;
    const encoder = this.env.encoder;
    if (isFullStateType(st.type)) {
      if (st.wildcard) return { body: encoder.body(st.type, version, '*', () => resources.all()), version };
      st.namesKey ??= [...st.names].sort().join('\n');
      return { body: encoder.body(st.type, version, st.namesKey, () => present(resources, st.names)), version };
    }
    const wanted = st.pendingAll ? st.names : st.pendingNames;
    const list = present(resources, wanted).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (list.length === 0) return undefined;
    return { body: encoder.body(st.type, version, list.map((r) => r.name).join('\n'), () => list), version };
  }

  private write(st: TypeState, body: Buffer, version: string, changeAt: number | undefined): void {
    if (this.call.writableEnded || this.call.destroyed) return;
    const nonce = String(++this.nonces);
    st.nonce = nonce;
    st.sentVersion = version;
    st.responses++;
    this.writing = true;
    this.call.write(ResponseEncoder.withNonce(body, nonce), () => {
      this.writing = false;
      if (!this.closed && [...this.types.values()].some(hasPending)) this.env.queue.enqueue(this);
    });
    this.env.metrics.pushes.inc({ api: 'xds', type: st.type });
    if (changeAt !== undefined) {
      this.env.metrics.pushLatency.observe({ api: 'xds' }, Math.max(0, this.env.clock.monotonic() - changeAt) / 1000);
    }
  }
}

/** Client-supplied text is logged and kept, so it is bounded. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function present(resources: TypeResources, names: Iterable<string>): CachedResource[] {
  const out: CachedResource[] = [];
  for (const name of names) {
    const r = resources.get(name);
    if (r !== undefined) out.push(r);
  }
  return out;
}

function validate(req: DiscoveryRequest): void {
  const names = req.resource_names;
  if (names.length > REQUEST_LIMITS.resourceNames) {
    throw invalidArgument('resource_names', `at most ${REQUEST_LIMITS.resourceNames} resource names are allowed per request, got ${names.length}`);
  }
  for (const [i, name] of names.entries()) {
    if (name.length > REQUEST_LIMITS.nameLength) {
      throw invalidArgument(`resource_names[${i}]`, `must be at most ${REQUEST_LIMITS.nameLength} characters, got ${name.length}`);
    }
  }
}
