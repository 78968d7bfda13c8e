import type { AdsResourceError, ClusterWatcher } from '../../src/xds/client/ads-client.js';
import type { DecodedCluster } from '../../src/xds/resources/cluster-decode.js';
import type { DecodedEndpoints } from '../../src/xds/resources/endpoints-decode.js';

interface Pending {
  check: () => boolean;
  resolve: () => void;
}

/**
 * A ClusterWatcher that records every callback, and lets a test wait for a condition on what it
 * recorded: checked on each callback (no polling), rejected after a generous bound.
 */
export class RecordingWatcher implements ClusterWatcher {
  readonly clusters: DecodedCluster[] = [];
  readonly endpoints: DecodedEndpoints[] = [];
  readonly errors: AdsResourceError[] = [];
  absent = 0;
  private readonly pending = new Set<Pending>();

  get cluster(): DecodedCluster | undefined {
    return this.clusters[this.clusters.length - 1];
  }

  get assignment(): DecodedEndpoints | undefined {
    return this.endpoints[this.endpoints.length - 1];
  }

  /** The ids of the last endpoints received. */
  get ids(): string[] {
    return this.assignment?.endpoints.map((e) => e.id) ?? [];
  }

  onCluster(cluster: DecodedCluster): void {
    this.clusters.push(cluster);
    this.settle();
  }

  onEndpoints(endpoints: DecodedEndpoints): void {
    this.endpoints.push(endpoints);
    this.settle();
  }

  onDoesNotExist(): void {
    this.absent++;
    this.settle();
  }

  onError(error: AdsResourceError): void {
    this.errors.push(error);
    this.settle();
  }

  waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const entry: Pending = {
        check: condition,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.pending.delete(entry);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.pending.add(entry);
    });
  }

  private settle(): void {
    for (const p of [...this.pending]) {
      if (!p.check()) continue;
      this.pending.delete(p);
      p.resolve();
    }
  }
}
