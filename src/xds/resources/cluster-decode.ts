/**
 * The client side of CDS: an envoy.config.cluster.v3.Cluster validated into the service config
 * the sidecar balances with. The exact config rides in the cluster's `outrigger` metadata; a
 * cluster without it (a foreign control plane) is read from Envoy's own fields.
 */
import { parseBuiltinServiceConfig } from '../../balancers/service-config.js';
import type { ServiceConfig } from '../../model/service-config.js';
import { CLUSTER_TYPE_URL } from '../type-urls.js';
import { serviceConfigFromEnvoyFields } from './cluster-decode-fields.js';
import { canonicalJson, decodeWith, reject, type DecodeResult, type ResourceDecoder } from './decode-result.js';
import { messageAt, stringAt, type Message } from './decode-values.js';
import { readOutriggerMetadata } from './outrigger-metadata.js';

export interface DecodedCluster {
  /** `<service>.<namespace>`. */
  readonly name: string;
  readonly config: ServiceConfig;
  /** version_info of the response that carried it. */
  readonly version: string;
  /** Outrigger's metadata (exact) or Envoy's fields (the nearest Outrigger config). */
  readonly configSource: 'metadata' | 'envoy';
}

function checkDiscovery(msg: Message, name: string): void {
  const kind = stringAt(msg, 'cluster_discovery_type', '');
  if (kind === 'cluster_type') reject('cluster_type', 'custom cluster types are not supported; only EDS clusters are');
  const type = stringAt(msg, 'type', '') || 'STATIC';
  if (type !== 'EDS') reject('type', `only EDS clusters are supported, got ${type}`);
  const eds = messageAt(msg, 'eds_cluster_config', '');
  const source = eds === undefined ? undefined : messageAt(eds, 'eds_config', 'eds_cluster_config');
  const specifier = source === undefined ? '' : stringAt(source, 'config_source_specifier', '');
  if (specifier !== 'ads' && specifier !== 'self') {
    reject('eds_cluster_config.eds_config', `endpoints must come over ADS (ads {} or self {}), got ${specifier || 'nothing'}`);
  }
  // The sidecar asks EDS for the cluster's own name; another name would never be answered.
  const serviceName = eds === undefined ? '' : stringAt(eds, 'service_name', 'eds_cluster_config');
  if (serviceName !== '' && serviceName !== name) {
    reject('eds_cluster_config.service_name', `must be empty or the cluster name ${name}, got ${serviceName}`);
  }
}

function configOf(msg: Message, name: string): { config: ServiceConfig; configSource: 'metadata' | 'envoy' } {
  const meta = readOutriggerMetadata(msg['metadata']);
  if (meta !== undefined) {
    const { service, namespace } = meta;
    if (typeof service === 'string' && typeof namespace === 'string' && `${service}.${namespace}` !== name) {
      reject('metadata.outrigger', `names service ${service}.${namespace}, not the cluster ${name}`);
    }
    if (meta['config'] !== undefined) {
      if (meta['config'] === null || typeof meta['config'] !== 'object') reject('metadata.outrigger.config', 'must be an object');
      return { config: parseBuiltinServiceConfig(meta['config'], 'metadata.outrigger.config'), configSource: 'metadata' };
    }
  }
  return { config: parseBuiltinServiceConfig(serviceConfigFromEnvoyFields(msg), 'config derived from Envoy fields'), configSource: 'envoy' };
}

export class ClusterDecoder implements ResourceDecoder<DecodedCluster> {
  readonly typeUrl = CLUSTER_TYPE_URL;
  readonly kind = 'Cluster';

  decode(msg: Readonly<Record<string, unknown>>, version: string): DecodeResult<DecodedCluster> {
    const raw = msg['name'];
    const name = typeof raw === 'string' && raw !== '' ? raw : undefined;
    return decodeWith(name, () => {
      if (name === undefined) return reject('name', 'must be set');
      checkDiscovery(msg, name);
      return { name, value: { name, version, ...configOf(msg, name) } };
    });
  }

  equal(a: DecodedCluster, b: DecodedCluster): boolean {
    return a.name === b.name && a.configSource === b.configSource && canonicalJson(a.config) === canonicalJson(b.config);
  }
}

export const clusterDecoder = new ClusterDecoder();
