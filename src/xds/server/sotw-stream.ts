import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Clock } from '../../common/clock.js';
import { invalidArgument } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { HubMetrics } from '../../metrics/hub-metrics.js';
import type { DiscoveryRequest, SotwCall } from '../ads-service.js';
import { XDS_TYPE_URLS, isFullStateType, isXdsTypeUrl, shortTypeName, type XdsTypeUrl } from '../type-urls.js';
import { ResponseEncoder } from './discovery-response.js';
import type { CachedResource, ResourceCache, TypeResources } from './resource-cache.js';
import type { SendQueue } from './send-queue.js';
import type { AdsStreamAccess } from './stream-access.js';
import type { SubscriptionIndex } from './subscription-index.js';
import { TypeSubscription, type AdsTypeInfo } from './type-subscription.js';

export type { AdsTypeInfo } from './type-subscription.js';

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

export interface AdsStreamInfo {
  id: number;
  node: string | undefined;
  peer: string;
  /** A response is handed to grpc-js and not yet flushed to the connection (at most one). */
  writing: boolean;
  types: AdsTypeInfo[];
  /** When the stream opened, and when the client last ACKed a response (epoch ms, on the hub's Clock). */
  opened_at: number;
  last_ack_at: number | undefined;
  /** Since when the oldest response not yet ACKed (unanswered or NACKed) was written; undefined when all are ACKed. */
  unacked_since: number | undefined;
}

/**
 * One state-of-the-world ADS stream. Requests update the subscription and the ACK/NACK state;
 * changes only mark what is pending (a flag, or names within the subscription), and the
 * response is built from the cache when the stream's turn comes. So a stream that stops
 * reading holds at most one written response plus "these are stale", never a backlog: state
 * of the world lets it skip straight to the latest versions once it drains.
 */
export class SotwStream {
  private readonly types = new Map<XdsTypeUrl, TypeSubscription<SotwStream>>();
  private readonly warnedTypes = new Set<string>();
  /** Names the stream asked for and may not receive, each reported once. */
  private readonly refusedNames = new Set<string>();
  private nodeId: string | undefined;
  private nonces = 0;
  private writing = false;
  private closed = false;
  private readonly openedAt: number;
  private lastAckAt: number | undefined;
  /** Per type, when the first response the client has not ACKed yet was written. */
  private readonly unackedSince = new Map<XdsTypeUrl, number>();

  constructor(
    readonly id: number,
    private readonly call: SotwCall,
    private readonly env: StreamEnv,
    private readonly access: AdsStreamAccess,
  ) {
    this.openedAt = env.clock.now();
  }

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
    const detail = clip(req.error_detail?.message ?? '', 2048);
    const kind = st.classify(req, detail);
    if (kind === 'stale') return;
    if (kind === 'nack') this.logNack(st, req, detail);
    if (kind === 'ack') {
      this.lastAckAt = this.env.clock.now();
      this.unackedSince.delete(st.type);
    }
    st.apply(kind, this.permitted(req.resource_names));
    if (st.hasPending) this.env.queue.enqueue(this);
  }

  /** Registry changes touched these resources of the type (all of them for a full-state type). */
  markChanged(type: XdsTypeUrl, names: Iterable<string>, changeAt: number): void {
    const st = this.types.get(type);
    if (st === undefined || this.closed) return;
    if (st.markChanged(names, changeAt)) this.env.queue.enqueue(this);
  }

  /** Writes the first pending response, unless one is still on its way out. */
  flush(): void {
    if (this.closed || this.writing) return;
    for (const type of XDS_TYPE_URLS) {
      const st = this.types.get(type);
      if (st === undefined || !st.hasPending) continue;
      const out = this.response(st);
      const changeAt = st.clearPending();
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
    this.access.release();
    this.env.queue.remove(this);
    for (const st of this.types.values()) st.release();
  }

  describe(): AdsStreamInfo {
    return {
      id: this.id,
      node: this.nodeId,
      peer: this.call.getPeer(),
      writing: this.writing,
      types: [...this.types.values()].map((st) => st.info()),
      opened_at: this.openedAt,
      last_ack_at: this.lastAckAt,
      unacked_since: this.unackedSince.size === 0 ? undefined : Math.min(...this.unackedSince.values()),
    };
  }

  /**
   * The requested names the stream may receive. The others are left out of the subscription, so
   * the client sees them as absent (does-not-exist), as it would a resource no one registered.
   */
  private permitted(names: string[]): string[] {
    const visible = this.access.visible;
    if (visible === undefined) return names;
    return names.filter((name) => {
      if (name === '*' || visible(name)) return true;
      if (!this.refusedNames.has(name) && this.refusedNames.size < REQUEST_LIMITS.resourceNames) {
        this.refusedNames.add(name);
        this.access.refused(name);
      }
      return false;
    });
  }

  private state(type: XdsTypeUrl): TypeSubscription<SotwStream> {
    let st = this.types.get(type);
    if (st === undefined) {
      st = new TypeSubscription(type, this.env.index, this);
      this.types.set(type, st);
    }
    return st;
  }

  private logNack(st: TypeSubscription<SotwStream>, req: DiscoveryRequest, detail: string): void {
    this.env.metrics.nacks.inc({ type: st.type });
    this.env.logger.warn('xds: client rejected a response (NACK) and keeps its last accepted version', {
      stream: this.id,
      node: this.nodeId,
      type: shortTypeName(st.type),
      rejected_version: st.lastSentVersion,
      kept_version: req.version_info,
      code: req.error_detail?.code,
      error_detail: detail,
    });
  }

  /** The response for a type at the cache's current version, or nothing when there is nothing to say. */
  private response(st: TypeSubscription<SotwStream>): { body: Buffer; version: string } | undefined {
    const resources = this.env.cache.of(st.type);
    const version = resources.version;
    const encoder = this.env.encoder;
    if (isFullStateType(st.type)) {
      if (st.wildcard) {
        const visible = this.access.visible;
        if (visible === undefined) return { body: encoder.body(st.type, version, '*', () => resources.all()), version };
        return { body: encoder.body(st.type, version, `*\u0000${this.access.key}`, () => [...resources.all()].filter((r) => visible(r.name))), version };
      }
      return { body: encoder.body(st.type, version, st.namesKey, () => present(resources, st.names)), version };
    }
    const wanted = st.pendingAll ? st.names : st.pendingNames;
    const list = present(resources, wanted).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (list.length === 0) return undefined;
    return { body: encoder.body(st.type, version, list.map((r) => r.name).join('\n'), () => list), version };
  }

  private write(st: TypeSubscription<SotwStream>, body: Buffer, version: string, changeAt: number | undefined): void {
    if (this.call.writableEnded || this.call.destroyed) return;
    const nonce = String(++this.nonces);
    st.sent(nonce, version);
    if (!this.unackedSince.has(st.type)) this.unackedSince.set(st.type, this.env.clock.now());
    this.writing = true;
    this.call.write(ResponseEncoder.withNonce(body, nonce), () => {
      this.writing = false;
      if (!this.closed && [...this.types.values()].some((t) => t.hasPending)) this.env.queue.enqueue(this);
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
