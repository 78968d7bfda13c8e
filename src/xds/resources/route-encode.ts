import { serviceKey } from '../../model/names.js';
import { type Service } from '../../registry/model.js';
import { encodeAny } from '../envoy-protos.js';
import { durationOf, uint, type DurationValue, type UIntValue } from './proto-values.js';

export const ROUTE_MESSAGE = 'envoy.config.route.v3.RouteConfiguration';

type HashPolicyMessage = { terminal?: boolean } & (
  | { header: { header_name: string } }
  | { cookie: { name: string } }
  | { query_parameter: { name: string } }
  | { connection_properties: { source_ip: boolean } }
  | { filter_state: { key: string } }
);

export interface RouteActionMessage {
  cluster: string;
  timeout: DurationValue;
  retry_policy?: {
    retry_on: string;
    num_retries: UIntValue;
    retriable_status_codes: number[];
    per_try_timeout?: DurationValue;
  };
  hash_policy?: HashPolicyMessage[];
}

export interface RouteConfigurationMessage {
  name: string;
  virtual_hosts: Array<{
    name: string;
    domains: string[];
    routes: Array<{ match: { prefix: string }; route: RouteActionMessage }>;
  }>;
}

/** gRPC's hash key for "this channel": proxyless clients have no source IP, cookie or query string. */
const CHANNEL_ID: HashPolicyMessage = { filter_state: { key: 'io.grpc.channel_id' } };

/**
 * What a ring hash hashes on, from the consistent_hash options (`hash_on`, `name`). The key is
 * terminal, so a request that has it is hashed on it alone; one that lacks it (and every call
 * of a proxyless client, which only knows headers and its channel) falls back to the channel.
 */
function hashPolicy(options: Readonly<Record<string, unknown>>): HashPolicyMessage[] {
  const name = typeof options['name'] === 'string' ? options['name'] : '';
  switch (options['hash_on']) {
    case 'header':
      if (name !== '') return [{ header: { header_name: name.toLowerCase() }, terminal: true }, CHANNEL_ID];
      break;
    case 'cookie':
      if (name !== '') return [{ cookie: { name }, terminal: true }, CHANNEL_ID];
      break;
    case 'query_parameter':
      if (name !== '') return [{ query_parameter: { name }, terminal: true }, CHANNEL_ID];
      break;
    case 'source_ip':
      return [{ connection_properties: { source_ip: true }, terminal: true }, CHANNEL_ID];
  }
  return [CHANNEL_ID];
}

/**
 * The RDS resource of a service: one virtual host matching the service's name (and any
 * authority) that sends every request to the cluster of the same name, with the service's
 * overall timeout (Envoy's `timeout`, 0 = none) and retry policy. The timeout is deliberately
 * not put in `max_stream_duration`: proxyless gRPC would apply it to long-lived streams too.
 */
export function buildRouteConfiguration(service: Service): RouteConfigurationMessage {
  const name = serviceKey(service.name, service.namespace);
  const c = service.config;
  const route: RouteActionMessage = { cluster: name, timeout: durationOf(c.timeout_ms) };
  // A retry policy with no retries is rejected by grpc-js; none is the same thing.
  if (c.retry.num_retries > 0 && c.retry.retry_on.length > 0) {
    route.retry_policy = {
      retry_on: c.retry.retry_on.join(','),
      num_retries: uint(c.retry.num_retries),
      retriable_status_codes: [...c.retry.retriable_status_codes],
      ...(c.retry.per_try_timeout_ms > 0 ? { per_try_timeout: durationOf(c.retry.per_try_timeout_ms) } : {}),
    };
  }
  if (c.lb_policy === 'consistent_hash') route.hash_policy = hashPolicy(c.lb_options);
  return {
    name,
    virtual_hosts: [{ name, domains: [name, '*'], routes: [{ match: { prefix: '' }, route }] }],
  };
}

export function encodeRouteConfiguration(service: Service): Buffer {
  return encodeAny(ROUTE_MESSAGE, buildRouteConfiguration(service));
}
