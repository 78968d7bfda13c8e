import { invalidArgument } from '../../common/errors.js';
import type { DeltaDiscoveryRequest } from '../ads-service.js';
import { isFullStateType, type XdsTypeUrl } from '../type-urls.js';
import { AdsStream, REQUEST_LIMITS, checkNames, clip, type ServedStream } from './ads-stream.js';
import { DeltaSubscription } from './delta-subscription.js';
import type { CachedResource } from './resource-cache.js';
import { byName } from './sotw-stream.js';

/**
 * One delta (incremental) ADS stream (xDS protocol, "incremental xDS"): the client subscribes
 * and unsubscribes by name, and each response carries only the resources whose version the
 * client does not hold, each with its own version, plus the names removed (and names subscribed
 * that do not exist, so the client learns it at once). On reconnect the
 * client's initial_resource_versions say what it holds, so only what changed meanwhile is sent.
 * As on a state-of-the-world stream, changes only mark names pending and at most one response
 * is in flight; a response many streams need (same resources at the same versions) is encoded
 * once and shared, nonce included.
 */
export class DeltaStream extends AdsStream<DeltaDiscoveryRequest> {
  protected readonly protocol = 'delta';
  protected readonly types = new Map<XdsTypeUrl, DeltaSubscription<ServedStream>>();

  onRequest(req: DeltaDiscoveryRequest): void {
    if (this.closed) return;
    validate(req);
    const type = this.accept(req.node, req.type_url, 'delta');
    if (type === undefined) return;
    const st = this.state(type);
    if (req.response_nonce !== '') {
      const detail = req.error_detail === null || req.error_detail === undefined ? undefined : clip(req.error_detail.message ?? '', 2048);
      const answer = st.answer(req.response_nonce, detail);
      if (answer === 'nack') {
        this.logNack(type, { nonce: req.response_nonce, code: req.error_detail?.code, error_detail: detail, kept_versions: st.info().resource_versions });
      }
      if (answer === 'ack') this.acked(type);
    }
    if (!st.started) {
      const initial = Object.entries(req.initial_resource_versions ?? {});
      const visible = this.access.visible;
      st.start(visible === undefined ? initial : initial.filter(([name]) => visible(name)));
      // Listener and Cluster: a first request naming nothing is a wildcard (legacy form).
      if (isFullStateType(type) && req.resource_names_subscribe.length === 0) st.setWildcard(true);
      // What the client holds is compared with the hub's, so stale or removed ones are corrected.
      for (const name of st.known.keys()) st.pending.add(name);
    }
    const subscribe = this.permitted(req.resource_names_subscribe);
    // Subscriptions add up over requests: bounded per type, as one state-of-the-world request is.
    let adding = 0;
    for (const name of subscribe) if (name !== '*' && !st.names.has(name)) adding++;
    if (st.names.size + adding > REQUEST_LIMITS.resourceNames) {
      throw invalidArgument('resource_names_subscribe', `at most ${REQUEST_LIMITS.resourceNames} resource names may be subscribed per type on one stream; this request would make ${st.names.size + adding}`);
    }
    for (const name of subscribe) st.subscribe(name);
    for (const name of req.resource_names_unsubscribe) st.unsubscribe(name);
    if (st.hasPending) this.env.queue.enqueue(this);
  }

  protected flushType(type: XdsTypeUrl): boolean {
    const st = this.types.get(type)!;
    const resources = this.env.cache.of(type);
    const { names, changeAt } = st.takePending(() => this.allNames(type));
    const visible = this.access.visible;
    const updated: CachedResource[] = [];
    const removed: string[] = [];
    for (const name of names) {
      if (!st.wants(name) && !st.known.has(name)) continue;
      const r = st.wants(name) && (visible === undefined || visible(name)) ? resources.get(name) : undefined;
      if (r !== undefined) {
        if (st.known.get(name) !== r.version) updated.push(r);
      } else if (st.known.has(name) || st.unanswered.has(name)) removed.push(name);
      st.unanswered.delete(name);
    }
    if (updated.length === 0 && removed.length === 0 && !st.mustAnswer) return false;
    if (!this.writable) return true;
    updated.sort(byName);
    removed.sort();
    const out = this.env.encoder.delta(type, resources.version, updated, removed);
    st.sent(out.nonce, out.version, updated.map((r) => [r.name, r.version] as const), removed);
    this.write(type, out, changeAt);
    return true;
  }

  private allNames(type: XdsTypeUrl): Iterable<string> {
    return this.env.cache.of(type).names();
  }

  private state(type: XdsTypeUrl): DeltaSubscription<ServedStream> {
    let st = this.types.get(type);
    if (st === undefined) {
      st = new DeltaSubscription<ServedStream>(type, this.env.index, this);
      this.types.set(type, st);
    }
    return st;
  }
}

function validate(req: DeltaDiscoveryRequest): void {
  checkNames(req.resource_names_subscribe, 'resource_names_subscribe');
  checkNames(req.resource_names_unsubscribe, 'resource_names_unsubscribe');
  const initial = Object.keys(req.initial_resource_versions ?? {});
  if (initial.length > REQUEST_LIMITS.resourceNames) {
    throw invalidArgument('initial_resource_versions', `at most ${REQUEST_LIMITS.resourceNames} entries are allowed, got ${initial.length}`);
  }
  checkNames(initial, 'initial_resource_versions');
}
