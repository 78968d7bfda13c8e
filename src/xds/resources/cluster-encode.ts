import { serviceKey } from '../../model/names.js';
import type { ServiceConfig } from '../../model/service-config.js';
import { type Service } from '../../registry/model.js';
import { encodeAny } from '../envoy-protos.js';
import { clusterLbFields, type ClusterLbFields } from './lb-policy-encode.js';
import { outriggerMetadata, type MetadataMessage } from './outrigger-metadata.js';
import { durationOf, uint, type DurationValue, type PercentValue, type UIntValue } from './proto-values.js';

export const CLUSTER_MESSAGE = 'envoy.config.cluster.v3.Cluster';

export interface OutlierDetectionMessage {
  consecutive_5xx: UIntValue;
  consecutive_gateway_failure: UIntValue;
  enforcing_consecutive_5xx: UIntValue;
  enforcing_consecutive_gateway_failure: UIntValue;
  interval: DurationValue;
  base_ejection_time: DurationValue;
  max_ejection_time: DurationValue;
  max_ejection_percent: UIntValue;
  enforcing_success_rate: UIntValue;
  success_rate_minimum_hosts?: UIntValue;
  success_rate_request_volume?: UIntValue;
  success_rate_stdev_factor?: UIntValue;
}

export interface ClusterMessage extends ClusterLbFields {
  name: string;
  type: 'EDS';
  eds_cluster_config: { eds_config: { ads: Record<string, never>; resource_api_version: 'V3' } };
  circuit_breakers: {
    thresholds: Array<{
      priority: 'DEFAULT';
      max_connections: UIntValue;
      max_pending_requests: UIntValue;
      max_requests: UIntValue;
      max_retries: UIntValue;
      retry_budget: { budget_percent: PercentValue; min_retry_concurrency: UIntValue };
    }>;
  };
  outlier_detection?: OutlierDetectionMessage;
  common_lb_config: { healthy_panic_threshold: PercentValue };
  metadata: MetadataMessage;
}

function outlierDetection(od: ServiceConfig['outlier_detection']): OutlierDetectionMessage {
  const sr = od.success_rate;
  return {
    consecutive_5xx: uint(od.consecutive_5xx),
    consecutive_gateway_failure: uint(od.consecutive_gateway_failure),
    // Envoy enforces gateway-failure ejection only when asked (its default is 0%).
    enforcing_consecutive_5xx: uint(100),
    enforcing_consecutive_gateway_failure: uint(100),
    interval: durationOf(od.interval_ms),
    base_ejection_time: durationOf(od.base_ejection_time_ms),
    max_ejection_time: durationOf(od.max_ejection_time_ms),
    max_ejection_percent: uint(od.max_ejection_percent),
    // Success-rate ejection is on by default in Envoy and grpc-js; only a configured one runs.
    enforcing_success_rate: uint(sr === undefined ? 0 : 100),
    ...(sr === undefined
      ? {}
      : {
          success_rate_minimum_hosts: uint(sr.minimum_hosts),
          success_rate_request_volume: uint(sr.request_volume),
          // Envoy divides this field by 1000.
          success_rate_stdev_factor: uint(Math.round(sr.stdev_factor * 1000)),
        }),
  };
}

/**
 * The CDS resource of a service: an EDS cluster named `<service>.<namespace>` whose endpoints
 * come over the same ADS stream, with the service's balancing, breakers and outlier detection
 * in Envoy's fields and the full Outrigger config in `metadata.filter_metadata.outrigger`.
 */
export function buildCluster(service: Service): ClusterMessage {
  const c = service.config;
  const cb = c.circuit_breakers;
  return {
    name: serviceKey(service.name, service.namespace),
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    ...clusterLbFields(c.lb_policy, c.lb_options),
    circuit_breakers: {
      thresholds: [
        {
          priority: 'DEFAULT',
          max_connections: uint(cb.max_connections),
          max_pending_requests: uint(cb.max_pending_requests),
          max_requests: uint(cb.max_requests),
          max_retries: uint(cb.max_retries),
          retry_budget: { budget_percent: { value: c.retry.budget_percent }, min_retry_concurrency: uint(c.retry.min_retry_concurrency) },
        },
      ],
    },
    ...(c.outlier_detection.enabled ? { outlier_detection: outlierDetection(c.outlier_detection) } : {}),
    common_lb_config: { healthy_panic_threshold: { value: c.panic_threshold_percent } },
    metadata: outriggerMetadata({ service: service.name, namespace: service.namespace, config: c }),
  };
}

export function encodeCluster(service: Service): Buffer {
  return encodeAny(CLUSTER_MESSAGE, buildCluster(service));
}
