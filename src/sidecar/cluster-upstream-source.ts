import type { UpstreamCluster, UpstreamSource } from '../proxy/upstream-source.js';
import type { ClusterManager, ClusterView } from './cluster-manager.js';

/**
 * The data plane's view of the cluster manager: a cluster is routable once its config and
 * endpoints are both known. Each view maps to one UpstreamCluster object, so the proxy can
 * tell a real change (a new object) from a repeat.
 */
export class ClusterUpstreamSource implements UpstreamSource {
  private readonly built = new WeakMap<ClusterView, UpstreamCluster>();

  constructor(private readonly clusters: ClusterManager) {}

  get(name: string): UpstreamCluster | undefined {
    const view = this.clusters.get(name);
    return view === undefined ? undefined : this.toCluster(view);
  }

  async ensure(name: string): Promise<UpstreamCluster> {
    const view = await this.clusters.ensure(name);
    return this.toCluster(view)!;
  }

  touch(name: string): void {
    this.clusters.touch(name);
  }

  onChange(listener: (cluster: UpstreamCluster | undefined, name: string) => void): () => void {
    const on = (change: { name: string; view: ClusterView | undefined }): void => listener(change.view === undefined ? undefined : this.toCluster(change.view), change.name);
    this.clusters.on('change', on);
    return () => this.clusters.off('change', on);
  }

  private toCluster(view: ClusterView): UpstreamCluster | undefined {
    if (view.config === undefined || view.endpoints === undefined) return undefined;
    let cluster = this.built.get(view);
    if (cluster === undefined) {
      cluster = { name: view.name, config: view.config, endpoints: view.endpoints };
      this.built.set(view, cluster);
    }
    return cluster;
  }
}
