/**
 * The four xDS resource types the hub serves over ADS, by their exact type URLs (a client
 * compares them byte for byte).
 */
export const CLUSTER_TYPE_URL = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT_TYPE_URL = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
export const LISTENER_TYPE_URL = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';

/**
 * Also the order in which one stream's pending responses are written: clusters before their
 * endpoints and listeners before their routes, Envoy's make-before-break order.
 */
export const XDS_TYPE_URLS = [CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL] as const;
export type XdsTypeUrl = (typeof XDS_TYPE_URLS)[number];

export function isXdsTypeUrl(value: string): value is XdsTypeUrl {
  return (XDS_TYPE_URLS as readonly string[]).includes(value);
}

/**
 * In state of the world, Listener and Cluster responses carry every subscribed resource (one
 * left out is deleted) and an empty name list subscribes to all of them; the other types are
 * sent per resource and only by name.
 */
export function isFullStateType(type: XdsTypeUrl): boolean {
  return type === LISTENER_TYPE_URL || type === CLUSTER_TYPE_URL;
}

const SHORT: Record<XdsTypeUrl, string> = {
  [CLUSTER_TYPE_URL]: 'cds',
  [ENDPOINT_TYPE_URL]: 'eds',
  [LISTENER_TYPE_URL]: 'lds',
  [ROUTE_TYPE_URL]: 'rds',
};

/** `cds`, `eds`, `lds` or `rds`, for logs. */
export function shortTypeName(type: XdsTypeUrl): string {
  return SHORT[type];
}

/** The type URL of a message type name, as used in google.protobuf.Any. */
export function typeUrlOf(typeName: string): string {
  return `type.googleapis.com/${typeName}`;
}
