import { isIP } from 'node:net';
import type { Health } from '../../model/health.js';
import type { Instance } from '../../registry/model.js';
import { encodeAny } from '../envoy-protos.js';
import { outriggerMetadata, type MetadataMessage } from './outrigger-metadata.js';
import { uint, type UIntValue } from './proto-values.js';

export const ENDPOINT_MESSAGE = 'envoy.config.endpoint.v3.ClusterLoadAssignment';

export type EnvoyHealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING';

export interface LbEndpointMessage {
  endpoint: { address: { socket_address: { protocol: 'TCP'; address: string; port_value: number } } };
  health_status: EnvoyHealthStatus;
  load_balancing_weight: UIntValue;
  metadata: MetadataMessage;
}

export interface LocalityEndpointsMessage {
  locality: { region: string; zone: string };
  lb_endpoints: LbEndpointMessage[];
  load_balancing_weight: UIntValue;
  priority: number;
}

export interface ClusterLoadAssignmentMessage {
  cluster_name: string;
  endpoints: LocalityEndpointsMessage[];
}

/** Our health states have Envoy's names; the map keeps that a checked fact. */
const HEALTH: Record<Health, EnvoyHealthStatus> = {
  HEALTHY: 'HEALTHY',
  UNHEALTHY: 'UNHEALTHY',
  UNKNOWN: 'UNKNOWN',
  DRAINING: 'DRAINING',
};

/** Which of two instances on the same address:port to keep: the one clients may use. */
const PREFERENCE: Record<Health, number> = { HEALTHY: 3, UNKNOWN: 2, DRAINING: 1, UNHEALTHY: 0 };

/** Clients send traffic only to these; a locality's weight counts only them. */
const USABLE: ReadonlySet<Health> = new Set(['HEALTHY', 'UNKNOWN']);

export type SkipReason = 'hostname';

function better(a: Instance, b: Instance): Instance {
  const d = PREFERENCE[a.health] - PREFERENCE[b.health];
  if (d !== 0) return d > 0 ? a : b;
  if (a.revision !== b.revision) return a.revision > b.revision ? a : b;
  return a.id < b.id ? a : b;
}

function endpointKey(inst: Instance): string {
  return isIP(inst.address) === 6 ? `[${inst.address.toLowerCase()}]:${inst.port}` : `${inst.address}:${inst.port}`;
}

function lbEndpoint(inst: Instance): LbEndpointMessage {
  return {
    endpoint: { address: { socket_address: { protocol: 'TCP', address: inst.address, port_value: inst.port } } },
    health_status: HEALTH[inst.health],
    load_balancing_weight: uint(inst.weight),
    metadata: outriggerMetadata({ id: inst.id, version: inst.version, protocol: inst.protocol, metadata: inst.metadata }),
  };
}

/**
 * The EDS resource of a service: its instances grouped by locality (region, zone), all at
 * priority 0. Clients drop a locality without a weight and reject an update that names one
 * address twice or a hostname, so: every locality weighs at least 1 (the sum of its usable
 * endpoints' weights), a duplicated address:port keeps only the healthiest instance, and
 * hostname instances are left out (reported through `onSkip`). Sorted so that the same
 * state always encodes to the same bytes.
 */
export function buildClusterLoadAssignment(
  clusterName: string,
  instances: Iterable<Instance>,
  onSkip?: (instance: Instance, reason: SkipReason) => void,
): ClusterLoadAssignmentMessage {
  const byAddress = new Map<string, Instance>();
  for (const inst of instances) {
    if (isIP(inst.address) === 0) {
      onSkip?.(inst, 'hostname');
      continue;
    }
    const key = endpointKey(inst);
    const seen = byAddress.get(key);
    byAddress.set(key, seen === undefined ? inst : better(seen, inst));
  }
  const localities = new Map<string, Instance[]>();
  for (const inst of byAddress.values()) {
    const key = `${inst.region}\u0000${inst.zone}`;
    const list = localities.get(key);
    if (list === undefined) localities.set(key, [inst]);
    else list.push(inst);
  }
  const endpoints: LocalityEndpointsMessage[] = [];
  for (const key of [...localities.keys()].sort()) {
    const members = localities.get(key)!.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const usableWeight = members.reduce((sum, i) => sum + (USABLE.has(i.health) ? i.weight : 0), 0);
    endpoints.push({
      locality: { region: members[0]!.region, zone: members[0]!.zone },
      lb_endpoints: members.map(lbEndpoint),
      load_balancing_weight: uint(Math.max(1, usableWeight)),
      priority: 0,
    });
  }
  return { cluster_name: clusterName, endpoints };
}

export function encodeClusterLoadAssignment(
  clusterName: string,
  instances: Iterable<Instance>,
  onSkip?: (instance: Instance, reason: SkipReason) => void,
): Buffer {
  return encodeAny(ENDPOINT_MESSAGE, buildClusterLoadAssignment(clusterName, instances, onSkip));
}
