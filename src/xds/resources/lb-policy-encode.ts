import type { LbPolicyName } from '../../model/service-config.js';
import { packAny, type AnyMessage } from '../envoy-protos.js';
import { uint, type UIntValue } from './proto-values.js';

const ROUND_ROBIN = 'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin';
const LEAST_REQUEST = 'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest';
const RANDOM = 'envoy.extensions.load_balancing_policies.random.v3.Random';

interface PolicyCandidate {
  typed_extension_config: { name: string; typed_config: AnyMessage };
}

/** The load-balancing fields of an envoy.config.cluster.v3.Cluster. */
export interface ClusterLbFields {
  lb_policy?: 'ROUND_ROBIN' | 'RING_HASH';
  ring_hash_lb_config?: { hash_function: 'XX_HASH'; minimum_ring_size?: UIntValue; maximum_ring_size?: UIntValue };
  load_balancing_policy?: { policies: PolicyCandidate[] };
}

const candidate = (name: string, typeName: string, config: object): PolicyCandidate => ({
  typed_extension_config: { name, typed_config: packAny(typeName, config) },
});

const roundRobin = (): PolicyCandidate => candidate('envoy.load_balancing_policies.round_robin', ROUND_ROBIN, {});

const leastRequest = (config: object): PolicyCandidate =>
  candidate('envoy.load_balancing_policies.least_request', LEAST_REQUEST, config);

/** Largest ring Envoy and grpc-js accept. */
const MAX_RING = 8_388_608;

function ringSize(value: unknown): UIntValue | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_RING ? uint(value) : undefined;
}

/**
 * Expresses an Outrigger policy in Cluster fields that every client understands.
 *
 * grpc-js NACKs a whole response for an `lb_policy` other than ROUND_ROBIN or RING_HASH, so the
 * policies it lacks go in `load_balancing_policy` (gRPC A52, Envoy's extension list): a client
 * takes the first entry it supports, so the closest Envoy policy comes first and round_robin
 * last, and `lb_policy` stays at its ROUND_ROBIN default for clients that predate A52. Our own
 * sidecar reads the exact policy and options from the cluster's `outrigger` metadata instead.
 */
export function clusterLbFields(policy: LbPolicyName, options: Readonly<Record<string, unknown>>): ClusterLbFields {
  switch (policy) {
    case 'round_robin':
    case 'weighted':
      // Envoy's round robin already honours endpoint weights; grpc-js honours locality weights.
      return { lb_policy: 'ROUND_ROBIN' };
    case 'consistent_hash': {
      // A ring-hash entry in load_balancing_policy is not understood by grpc-js (it would fall to
      // round_robin), while lb_policy RING_HASH is understood by both grpc-js and Envoy.
      const min = ringSize(options['minimum_ring_size']);
      const max = ringSize(options['maximum_ring_size']);
      return {
        lb_policy: 'RING_HASH',
        ring_hash_lb_config: {
          hash_function: 'XX_HASH',
          ...(min !== undefined ? { minimum_ring_size: min } : {}),
          ...(max !== undefined && (min === undefined || max.value >= min.value) ? { maximum_ring_size: max } : {}),
        },
      };
    }
    case 'least_request': {
      const choices = options['choice_count'];
      const bias = options['active_request_bias'];
      const config = {
        ...(typeof choices === 'number' && Number.isInteger(choices) && choices >= 2 ? { choice_count: uint(choices) } : {}),
        ...(typeof bias === 'number' && bias >= 0
          ? { active_request_bias: { default_value: bias, runtime_key: 'outrigger.least_request.active_request_bias' } }
          : {}),
      };
      return { load_balancing_policy: { policies: [leastRequest(config), roundRobin()] } };
    }
    case 'least_connections':
      // Envoy has no connection-count policy; least request over all hosts is the nearest.
      return { load_balancing_policy: { policies: [leastRequest({ selection_method: 'FULL_SCAN' }), roundRobin()] } };
    case 'peak_ewma':
      // Peak EWMA is power-of-two-choices on latency; Envoy's nearest is P2C on active requests.
      return { load_balancing_policy: { policies: [leastRequest({}), roundRobin()] } };
    case 'random':
      return {
        load_balancing_policy: {
          policies: [candidate('envoy.load_balancing_policies.random', RANDOM, {}), roundRobin()],
        },
      };
  }
}
