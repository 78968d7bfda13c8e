import type * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../common/clock.js';
import { invalidArgument } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { HubMetrics } from '../../metrics/hub-metrics.js';
import type { NodeInfo } from '../ads-service.js';
import { isXdsTypeUrl, shortTypeName, XDS_TYPE_URLS, type XdsTypeUrl } from '../type-urls.js';
import type { DeltaTypeInfo } from './delta-subscription.js';
import type { EncodedResponse, ResponseEncoder } from './discovery-response.js';
import type { ResourceCache } from './resource-cache.js';
import type { SendQueue } from './send-queue.js';
import type { AdsStreamAccess } from './stream-access.js';
import type { SubscriptionIndex } from './subscription-index.js';
import type { AdsTypeInfo } from './type-subscription.js';
import type { WriteBudget } from './write-budget.js';

/** Bounds on one request, so that one client cannot make the hub hold arbitrary state. */
export const REQUEST_LIMITS = { resourceNames: 10_000, nameLength: 512 } as const;

/** What the server asks of a stream, whatever its protocol (state of the world or delta). */
export interface ServedStream {
  /** Registry changes touched these resources of the type (all of them for a full-state type). */
  markChanged(type: XdsTypeUrl, names: Iterable<string>, changeAt: number): void;
  /** Writes the first pending response, unless one is still on its way out. */
  flush(): void;
}

/** What a stream shares with every other stream of the server. */
export interface StreamEnv {
  readonly cache: ResourceCache;
  readonly encoder: ResponseEncoder;
  readonly index: SubscriptionIndex<ServedStream>;
  readonly queue: SendQueue<ServedStream>;
  /** Bytes in flight across every stream: a write starts only while they are under the bound. */
  readonly budget: WriteBudget;
  readonly metrics: HubMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
}

export interface AdsStreamInfo {
  id: number;
  node: string | undefined;
  peer: string;
  /** sotw or delta. */
  protocol: 'sotw' | 'delta';
  /** A response is handed to grpc-js and not yet flushed to the connection (at most one). */
  writing: boolean;
  types: Array<AdsTypeInfo | DeltaTypeInfo>;
  /** When the stream opened, and when the client last ACKed a response (epoch ms, on the hub's Clock). */
  opened_at: number;
  last_ack_at: number | undefined;
  /** Since when the oldest response not yet ACKed (unanswered or NACKed) was written; undefined when all are ACKed. */
  unacked_since: number | undefined;
}

/** One type's state on a stream, as the stream's shared parts see it. */
interface TypeState {
  readonly hasPending: boolean;
  /** Marks these resources changed; true when the stream now has something to send. */
  markChanged(names: Iterable<string>, changeAt: number): boolean;
  release(): void;
  info(): AdsTypeInfo | DeltaTypeInfo;
}

/**
 * What state-of-the-world and delta streams share: the node's first request logged, unknown
 * types ignored (each reported once), names the caller may not read left out, one shared
 * response in flight at a time, and the ways a stream ends.
 */
export abstract class AdsStream<Req> implements ServedStream {
  private readonly warnedTypes = new Set<string>();
  /** Names the stream asked for and may not receive, each reported once. */
  private readonly refusedNames = new Set<string>();
  private nodeId: string | undefined;
  protected writing = false;
  protected closed = false;
  private readonly openedAt: number;
  private lastAckAt: number | undefined;
  /** Per type, when the first response the client has not ACKed yet was written. */
  private readonly unackedSince = new Map<XdsTypeUrl, number>();

  constructor(
    readonly id: number,
    protected readonly call: grpc.ServerDuplexStream<Req, Buffer>,
    protected readonly env: StreamEnv,
    protected readonly access: AdsStreamAccess,
  ) {
    this.openedAt = env.clock.now();
  }

  get node(): string | undefined {
    return this.nodeId;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  protected abstract readonly protocol: AdsStreamInfo['protocol'];
  protected abstract readonly types: ReadonlyMap<XdsTypeUrl, TypeState>;

  /** Handles one request; throws an OutriggerError for one the hub will not take. */
  abstract onRequest(req: Req): void;

  /** Writes one response, for the first type (in xDS order) with something to say: one in flight at a time. */
  flush(): void {
    if (this.closed || this.writing) return;
    for (const type of XDS_TYPE_URLS) {
      if (this.types.get(type)?.hasPending === true && this.flushType(type)) return;
    }
  }

  /**
   * Answers what is pending for a type this stream holds: true when the stream stops for now (a
   * response written, or the connection cannot take one yet), false when there was nothing to say.
   */
  protected abstract flushType(type: XdsTypeUrl): boolean;

  describe(): AdsStreamInfo {
    return {
      id: this.id,
      node: this.node,
      peer: this.call.getPeer(),
      protocol: this.protocol,
      writing: this.writing,
      types: [...this.types.values()].map((st) => st.info()),
      opened_at: this.openedAt,
      last_ack_at: this.lastAckAt,
      unacked_since: this.unackedSince.size === 0 ? undefined : Math.min(...this.unackedSince.values()),
    };
  }

  /** The client ACKed the type's last response. */
  protected acked(type: XdsTypeUrl): void {
    this.lastAckAt = this.env.clock.now();
    this.unackedSince.delete(type);
  }

  markChanged(type: XdsTypeUrl, names: Iterable<string>, changeAt: number): void {
    const st = this.types.get(type);
    if (st === undefined || this.closed) return;
    if (st.markChanged(names, changeAt)) this.env.queue.enqueue(this);
  }

  protected hasPending(): boolean {
    for (const st of this.types.values()) if (st.hasPending) return true;
    return false;
  }

  /** Ends the stream with a status (the server is closing, or the client broke the protocol). */
  terminate(code: grpc.status, details: string): void {
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
    // grpc-js never calls back a write on a call that ended: its bytes are given back here.
    this.env.budget.give(this);
    this.access.release();
    this.env.queue.remove(this);
    for (const st of this.types.values()) st.release();
  }

  /** Logs the node on its first request; returns the type when the hub serves it. */
  protected accept(node: NodeInfo | null, typeUrl: string, protocol: string): XdsTypeUrl | undefined {
    if (this.nodeId === undefined) {
      this.nodeId = clip(node?.id ?? '', 256);
      this.env.logger.info('xds stream opened', {
        stream: this.id,
        protocol,
        node: this.nodeId,
        node_cluster: node?.cluster ?? '',
        user_agent: node?.user_agent_name ?? '',
        peer: this.call.getPeer(),
      });
    }
    if (isXdsTypeUrl(typeUrl)) return typeUrl;
    if (!this.warnedTypes.has(typeUrl) && this.warnedTypes.size < 16) {
      this.warnedTypes.add(typeUrl);
      this.env.logger.warn('xds: ignoring a request for a type the hub does not serve', { stream: this.id, node: this.nodeId, type_url: typeUrl });
    }
    return undefined;
  }

  /**
   * The requested names the stream may receive. The others are left out of the subscription, so
   * the client sees them as absent (does-not-exist), as it would a resource no one registered.
   */
  protected permitted(names: readonly string[]): string[] {
    const visible = this.access.visible;
    if (visible === undefined) return [...names];
    return names.filter((name) => {
      if (name === '*' || visible(name)) return true;
      if (!this.refusedNames.has(name) && this.refusedNames.size < REQUEST_LIMITS.resourceNames) {
        this.refusedNames.add(name);
        this.access.refused(name);
      }
      return false;
    });
  }

  protected logNack(type: XdsTypeUrl, fields: Record<string, unknown>): void {
    this.env.metrics.nacks.inc({ type });
    this.env.logger.warn('xds: client rejected a response (NACK) and keeps its last accepted version', { stream: this.id, node: this.nodeId, type: shortTypeName(type), ...fields });
  }

  /**
   * Writes shared bytes as they are: the service definition's response serializer is the
   * identity. grpc-js frames them into a copy of its own, held until the connection drains it, so
   * the write counts against the server's budget of bytes in flight until its callback.
   */
  protected write(type: XdsTypeUrl, out: EncodedResponse, changeAt: number | undefined): void {
    if (!this.unackedSince.has(type)) this.unackedSince.set(type, this.env.clock.now());
    this.writing = true;
    this.env.budget.take(this, out.bytes.length + GRPC_FRAME_HEADER);
    this.call.write(out.bytes, () => {
      this.writing = false;
      this.env.budget.give(this);
      if (!this.closed && this.hasPending()) this.env.queue.enqueue(this);
    });
    this.env.metrics.pushes.inc({ api: 'xds', type });
    if (changeAt !== undefined) {
      this.env.metrics.pushLatency.observe({ api: 'xds' }, Math.max(0, this.env.clock.monotonic() - changeAt) / 1000);
    }
  }

  protected get writable(): boolean {
    return !this.call.writableEnded && !this.call.destroyed;
  }
}

/** grpc-js prefixes each message with a flag byte and a 4-byte length. */
const GRPC_FRAME_HEADER = 5;

/** Client-supplied text is logged and kept, so it is bounded. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** Throws INVALID_ARGUMENT naming the field when a list of names is too long or holds a too-long name. */
export function checkNames(names: readonly string[], field: string): void {
  if (names.length > REQUEST_LIMITS.resourceNames) {
    throw invalidArgument(field, `at most ${REQUEST_LIMITS.resourceNames} resource names are allowed per request, got ${names.length}`);
  }
  for (const [i, name] of names.entries()) {
    if (name.length > REQUEST_LIMITS.nameLength) {
      throw invalidArgument(`${field}[${i}]`, `must be at most ${REQUEST_LIMITS.nameLength} characters, got ${name.length}`);
    }
  }
}
