import type { DiscoveryRequest } from '../ads-service.js';
import { isFullStateType, type XdsTypeUrl } from '../type-urls.js';
import { AdsStream, checkNames, clip, type ServedStream } from './ads-stream.js';
import type { EncodedResponse } from './discovery-response.js';
import type { CachedResource, TypeResources } from './resource-cache.js';
import { TypeSubscription } from './type-subscription.js';

export type { AdsTypeInfo } from './type-subscription.js';
export { REQUEST_LIMITS, type AdsStreamInfo, type StreamEnv } from './ads-stream.js';

/**
 * One state-of-the-world ADS stream. Requests update the subscription and the ACK/NACK state;
 * changes only mark what is pending (a flag, or names within the subscription), and the
 * response is built from the cache when the stream's turn comes. So a stream that stops
 * reading holds at most one written response plus "these are stale", never a backlog: state
 * of the world lets it skip straight to the latest versions once it drains.
 */
export class SotwStream extends AdsStream<DiscoveryRequest> {
  protected readonly protocol = 'sotw';
  protected readonly types = new Map<XdsTypeUrl, TypeSubscription<ServedStream>>();

  onRequest(req: DiscoveryRequest): void {
    if (this.closed) return;
    checkNames(req.resource_names, 'resource_names');
    const type = this.accept(req.node, req.type_url, 'sotw');
    if (type === undefined) return;
    const st = this.state(type);
    const detail = clip(req.error_detail?.message ?? '', 2048);
    const kind = st.classify(req, detail);
    if (kind === 'stale') return;
    if (kind === 'nack') {
      this.logNack(st.type, { rejected_version: st.lastSentVersion, kept_version: req.version_info, code: req.error_detail?.code, error_detail: detail });
    }
    if (kind === 'ack') this.acked(st.type);
    st.apply(kind, this.permitted(req.resource_names));
    if (st.hasPending) this.env.queue.enqueue(this);
  }

  protected flushType(type: XdsTypeUrl): boolean {
    const st = this.types.get(type)!;
    const out = this.response(st);
    const changeAt = st.clearPending();
    if (out === undefined) return false;
    if (!this.writable) return true;
    st.sent(out.nonce, out.version);
    this.write(type, out, changeAt);
    return true;
  }

  private state(type: XdsTypeUrl): TypeSubscription<ServedStream> {
    let st = this.types.get(type);
    if (st === undefined) {
      st = new TypeSubscription<ServedStream>(type, this.env.index, this);
      this.types.set(type, st);
    }
    return st;
  }

  /** The response for a type at the cache's current version, or nothing when there is nothing to say. */
  private response(st: TypeSubscription<ServedStream>): EncodedResponse | undefined {
    const resources = this.env.cache.of(st.type);
    const version = resources.version;
    const encoder = this.env.encoder;
    if (isFullStateType(st.type)) {
      if (st.wildcard) {
        const visible = this.access.visible;
        if (visible === undefined) return encoder.response(st.type, version, '*', () => resources.all());
        return encoder.response(st.type, version, `*\u0000${this.access.key}`, () => [...resources.all()].filter((r) => visible(r.name)));
      }
      return encoder.response(st.type, version, st.namesKey, () => present(resources, st.names));
    }
    const wanted = st.pendingAll ? st.names : st.pendingNames;
    const list = present(resources, wanted).sort(byName);
    if (list.length === 0) return undefined;
    return encoder.response(st.type, version, list.length === 1 ? list[0]!.name : list.map((r) => r.name).join('\n'), () => list);
  }
}

export function present(resources: TypeResources, names: Iterable<string>): CachedResource[] {
  const out: CachedResource[] = [];
  for (const name of names) {
    const r = resources.get(name);
    if (r !== undefined) out.push(r);
  }
  return out;
}

export function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
