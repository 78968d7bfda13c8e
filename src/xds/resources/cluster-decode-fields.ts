/**
 * A service config read from a Cluster's Envoy fields, for clusters that do not carry
 * Outrigger's metadata (a foreign control plane, or a hub older than the metadata). Only what
 * Envoy can say is derived; everything else keeps Outrigger's defaults.
 */
import type { LbPolicyName, ServiceConfigInput } from '../../model/service-config.js';
import { decodeAny, type AnyMessage } from '../envoy-protos.js';
import { reject } from './decode-result.js';
import {
  durationMsAt,
  join,
  listAt,
  messageAt,
  stringAt,
  wrappedNumberAt,
  wrappedUIntAt,
  type Message,
} from './decode-values.js';

const POLICY_PREFIX = 'envoy.extensions.load_balancing_policies.';

/**
 * Extension policies of `load_balancing_policy` we can run, by their message type name. Envoy's
 * ring hash and Maglev take their key from the route's hash policy, which a sidecar reading CDS
 * and EDS never sees; without a key Envoy picks a random host, and so do we. (Our own hub sends
 * the exact policy and its key in the cluster's outrigger metadata, which wins over these.)
 */
const EXTENSION_POLICIES: Readonly<Record<string, LbPolicyName>> = {
  [`${POLICY_PREFIX}round_robin.v3.RoundRobin`]: 'round_robin',
  [`${POLICY_PREFIX}least_request.v3.LeastRequest`]: 'least_request',
  [`${POLICY_PREFIX}random.v3.Random`]: 'random',
  [`${POLICY_PREFIX}ring_hash.v3.RingHash`]: 'random',
  [`${POLICY_PREFIX}maglev.v3.Maglev`]: 'random',
};

/** Envoy's `lb_policy` enum, by name. */
const LB_POLICY_ENUM: Readonly<Record<string, LbPolicyName>> = {
  ROUND_ROBIN: 'round_robin',
  LEAST_REQUEST: 'least_request',
  RANDOM: 'random',
  RING_HASH: 'random',
  MAGLEV: 'random',
};

interface PolicyChoice {
  lb_policy: LbPolicyName;
  lb_options: Record<string, unknown>;
}

function leastRequestOptions(config: Message, path: string): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const choices = wrappedUIntAt(config, 'choice_count', path);
  if (choices !== undefined) options['choice_count'] = choices;
  const bias = messageAt(config, 'active_request_bias', path);
  if (bias !== undefined && typeof bias['default_value'] === 'number') options['active_request_bias'] = bias['default_value'];
  return options;
}

function isAny(v: unknown): v is AnyMessage {
  return v !== null && typeof v === 'object' && typeof (v as AnyMessage).type_url === 'string';
}

/** gRPC A52: the first entry of `load_balancing_policy` that this client supports wins. */
function fromPolicyList(lbp: Message): PolicyChoice {
  const path = 'load_balancing_policy.policies';
  const seen: string[] = [];
  for (const [i, entry] of listAt(lbp, 'policies', 'load_balancing_policy').entries()) {
    const ext = messageAt(entry, 'typed_extension_config', join(path, i));
    const any = ext?.['typed_config'];
    if (!isAny(any)) continue;
    const typeName = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    seen.push(typeName);
    const policy = EXTENSION_POLICIES[typeName];
    if (policy === undefined) continue;
    let config: Message = {};
    try {
      config = decodeAny(any);
    } catch {
      // A policy we support whose options message we do not load (ring hash, maglev): defaults.
    }
    const at = join(join(path, i), 'typed_extension_config.typed_config');
    const options = policy === 'least_request' ? leastRequestOptions(config, at) : {};
    return { lb_policy: policy, lb_options: options };
  }
  return reject('load_balancing_policy', `none of the policies is supported by this client (got ${seen.join(', ') || 'none'})`);
}

function policyOf(cluster: Message): PolicyChoice {
  const lbp = messageAt(cluster, 'load_balancing_policy', '');
  // Envoy: when load_balancing_policy is set, lb_policy is ignored.
  if (lbp !== undefined) return fromPolicyList(lbp);
  const name = stringAt(cluster, 'lb_policy', '') || 'ROUND_ROBIN';
  const policy = LB_POLICY_ENUM[name];
  if (policy === undefined) return reject('lb_policy', `${name} is not supported (supported: ${Object.keys(LB_POLICY_ENUM).join(', ')})`);
  if (policy === 'least_request') {
    const cfg = messageAt(cluster, 'least_request_lb_config', '');
    return { lb_policy: policy, lb_options: cfg === undefined ? {} : leastRequestOptions(cfg, 'least_request_lb_config') };
  }
  return { lb_policy: policy, lb_options: {} };
}

/** Copies the defined entries only, so that absent Envoy fields take Outrigger's defaults. */
function defined(values: Record<string, number | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined) out[k] = v;
  return out;
}

function breakers(cluster: Message): Pick<ServiceConfigInput, 'circuit_breakers' | 'retry'> {
  const cb = messageAt(cluster, 'circuit_breakers', '');
  if (cb === undefined) return {};
  const thresholds = listAt(cb, 'thresholds', 'circuit_breakers');
  // Outrigger has no routing priorities: the DEFAULT one (an absent priority) applies.
  const index = thresholds.findIndex((t) => (stringAt(t, 'priority', '') || 'DEFAULT') === 'DEFAULT');
  const t = thresholds[index];
  if (t === undefined) return {};
  const path = join('circuit_breakers.thresholds', index);
  const out: Pick<ServiceConfigInput, 'circuit_breakers' | 'retry'> = {
    circuit_breakers: defined({
      max_connections: wrappedUIntAt(t, 'max_connections', path),
      max_pending_requests: wrappedUIntAt(t, 'max_pending_requests', path),
      max_requests: wrappedUIntAt(t, 'max_requests', path),
      max_retries: wrappedUIntAt(t, 'max_retries', path),
    }),
  };
  const budget = messageAt(t, 'retry_budget', path);
  if (budget !== undefined) {
    const percent = wrappedNumberAt(budget, 'budget_percent', join(path, 'retry_budget'));
    out.retry = defined({
      budget_percent: percent === undefined ? undefined : Math.round(percent),
      min_retry_concurrency: wrappedUIntAt(budget, 'min_retry_concurrency', join(path, 'retry_budget')),
    });
  }
  return out;
}

function outlierDetection(cluster: Message): Pick<ServiceConfigInput, 'outlier_detection'> {
  const od = messageAt(cluster, 'outlier_detection', '');
  if (od === undefined) return { outlier_detection: { enabled: false } };
  const p = 'outlier_detection';
  // Envoy enforces success-rate ejection at 100% unless told otherwise.
  const enforcing = wrappedUIntAt(od, 'enforcing_success_rate', p) ?? 100;
  const stdev = wrappedUIntAt(od, 'success_rate_stdev_factor', p);
  return {
    outlier_detection: {
      enabled: true,
      ...defined({
        consecutive_5xx: wrappedUIntAt(od, 'consecutive_5xx', p),
        consecutive_gateway_failure: wrappedUIntAt(od, 'consecutive_gateway_failure', p),
        interval_ms: durationMsAt(od, 'interval', p),
        base_ejection_time_ms: durationMsAt(od, 'base_ejection_time', p),
        max_ejection_time_ms: durationMsAt(od, 'max_ejection_time', p),
        max_ejection_percent: wrappedUIntAt(od, 'max_ejection_percent', p),
      }),
      ...(enforcing > 0
        ? {
            success_rate: defined({
              minimum_hosts: wrappedUIntAt(od, 'success_rate_minimum_hosts', p),
              request_volume: wrappedUIntAt(od, 'success_rate_request_volume', p),
              // Envoy divides this field by 1000.
              stdev_factor: stdev === undefined ? undefined : stdev / 1000,
            }),
          }
        : {}),
    },
  };
}

/** The service config an Envoy Cluster describes, to be validated by parseServiceConfig. */
export function serviceConfigFromEnvoyFields(cluster: Message): ServiceConfigInput {
  const panic = wrappedNumberAt(messageAt(cluster, 'common_lb_config', '') ?? {}, 'healthy_panic_threshold', 'common_lb_config');
  return {
    ...policyOf(cluster),
    ...breakers(cluster),
    ...outlierDetection(cluster),
    ...(panic === undefined ? {} : { panic_threshold_percent: Math.round(panic) }),
  };
}
