import type { AdsResourceError, ClusterWatcher } from '../../src/xds/client/ads-client.js';
import type { DecodedCluster } from '../../src/xds/resources/cluster-decode.js';
import type { DecodedEndpoints } from '../../src/xds/resources/endpoints-decode.js';
import { Changes } from './wait.js';

/**
 * A ClusterWatcher that records every callback, and lets a test wait for a condition on what it
 * recorded: checked on each callback (no polling), rejected after a generous bound.
 */
export class RecordingWatcher implements ClusterWatcher {
  readonly clusters: DecodedCluster[] = [];
  readonly endpoints: DecodedEndpoints[] = [];
  readonly errors: AdsResourceError[] = [];
  absent = 0;
  private readonly changes = new Changes();

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
    this.changes.changed();
  }

  onEndpoints(endpoints: DecodedEndpoints): void {
    this.endpoints.push(endpoints);
    this.changes.changed();
  }

  onDoesNotExist(): void {
    this.absent++;
    this.changes.changed();
  }

  onError(error: AdsResourceError): void {
    this.errors.push(error);
    this.changes.changed();
  }

  /** Resolves once `condition` holds on what was recorded; fails after `ms`. */
  until(what: string, condition: () => boolean, ms = 10_000): Promise<void> {
    return this.changes.until(what, condition, ms);
  }
}
