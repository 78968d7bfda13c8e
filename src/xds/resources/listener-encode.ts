import { encodeAny, packAny, type AnyMessage } from '../envoy-protos.js';

export const LISTENER_MESSAGE = 'envoy.config.listener.v3.Listener';
export const HTTP_CONNECTION_MANAGER = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_FILTER = 'envoy.extensions.filters.http.router.v3.Router';

export interface HttpConnectionManagerMessage {
  stat_prefix: string;
  rds: { config_source: { ads: Record<string, never>; resource_api_version: 'V3' }; route_config_name: string };
  http_filters: Array<{ name: string; typed_config: AnyMessage }>;
}

export interface ListenerMessage {
  name: string;
  api_listener: { api_listener: AnyMessage };
}

/**
 * The LDS resource a proxyless gRPC client asks for when it dials `xds:///<service>.<namespace>`:
 * an API listener whose HttpConnectionManager takes its routes by RDS over the same ADS stream
 * (route config of the same name) and ends with the router filter, which clients require last
 * and with a typed_config.
 */
export function buildListener(name: string): ListenerMessage {
  const hcm: HttpConnectionManagerMessage = {
    stat_prefix: name,
    rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: name },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny(ROUTER_FILTER, {}) }],
  };
  return { name, api_listener: { api_listener: packAny(HTTP_CONNECTION_MANAGER, hcm) } };
}

export function encodeListener(name: string): Buffer {
  return encodeAny(LISTENER_MESSAGE, buildListener(name));
}
