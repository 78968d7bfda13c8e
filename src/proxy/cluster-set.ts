/**
 * The clusters the proxy has in use, by name: created on first use (on demand from the source),
 * rebuilt in place when the source reports a change, closed when the service disappears.
 */
import { OutriggerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { ClusterRuntime, type ClusterDescription, type ClusterRuntimeDeps, type UpstreamOverride } from './cluster-runtime.js';
import type { UpstreamCluster, UpstreamSource } from './upstream-source.js';

/** How often a cluster in use is reported to the source with touch(). */
const TOUCH_INTERVAL_MS = 1000;

/**
 * How long a name the source said does not exist is answered `unknown_service` at once, without
 * asking again: an app retrying a typo must not wait for the hub on every request.
 */
export const NEGATIVE_TTL_MS = 5000;

export class ClusterSet {
  private readonly runtimes = new Map<string, ClusterRuntime>();
  private readonly pending = new Map<string, Promise<ClusterRuntime | undefined>>();
  /** Names the source said do not exist, with when that answer expires (monotonic ms). */
  private readonly unknownUntil = new Map<string, number>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly source: UpstreamSource,
    private readonly overrides: ReadonlyMap<string, UpstreamOverride>,
    private readonly deps: ClusterRuntimeDeps,
    private readonly logger: Logger,
  ) {
    this.unsubscribe = source.onChange((cluster, name) => this.onChange(cluster, name));
  }

  /** The runtime if already built (the hot path); touches the source at most once a second. */
  get(name: string): ClusterRuntime | undefined {
    let runtime = this.runtimes.get(name);
    if (runtime === undefined) {
      const cluster = this.source.get(name);
      if (cluster === undefined) return undefined;
      runtime = this.create(cluster);
    }
    if (runtime.touchDue(this.deps.clock.monotonic(), TOUCH_INTERVAL_MS)) this.source.touch(name);
    return runtime;
  }

  /** Resolves the runtime, asking the source on demand; undefined when the service does not exist. */
  resolve(name: string): ClusterRuntime | Promise<ClusterRuntime | undefined> | undefined {
    const known = this.get(name);
    if (known !== undefined) return known;
    const until = this.unknownUntil.get(name);
    if (until !== undefined) {
      if (this.deps.clock.monotonic() < until) return undefined;
      this.unknownUntil.delete(name);
    }
    let p = this.pending.get(name);
    if (p === undefined) {
      p = this.source.ensure(name).then(
        (cluster) => this.runtimes.get(name) ?? this.create(cluster),
        (err: unknown) => {
          if (err instanceof OutriggerError && err.code === 'not_found') {
            this.rememberUnknown(name);
            return undefined;
          }
          throw err;
        },
      );
      p.finally(() => this.pending.delete(name)).catch(() => undefined);
      this.pending.set(name, p);
    }
    return p;
  }

  describe(): ClusterDescription[] {
    return [...this.runtimes.values()].map((r) => r.describe());
  }

  async close(): Promise<void> {
    this.unsubscribe();
    const all = [...this.runtimes.values()];
    this.runtimes.clear();
    await Promise.all(all.map((r) => r.close()));
  }

  /**
   * One TTL for every entry, so insertion order is expiry order: expired entries are dropped from
   * the front, and names asked for once (a scan of made-up hosts) do not pile up.
   */
  private rememberUnknown(name: string): void {
    const now = this.deps.clock.monotonic();
    for (const [old, until] of this.unknownUntil) {
      if (until > now) break;
      this.unknownUntil.delete(old);
    }
    this.unknownUntil.delete(name);
    this.unknownUntil.set(name, now + NEGATIVE_TTL_MS);
  }

  private create(cluster: UpstreamCluster): ClusterRuntime {
    const runtime = new ClusterRuntime(cluster.name, cluster, this.overrides.get(cluster.name), this.deps);
    this.runtimes.set(cluster.name, runtime);
    return runtime;
  }

  private onChange(cluster: UpstreamCluster | undefined, name: string): void {
    if (cluster !== undefined) this.unknownUntil.delete(name);
    const runtime = this.runtimes.get(name);
    if (runtime === undefined) return;
    if (cluster === undefined) {
      this.runtimes.delete(name);
      this.logger.info('cluster removed', { cluster: name });
      void runtime.close();
      return;
    }
    runtime.update(cluster);
  }
}
