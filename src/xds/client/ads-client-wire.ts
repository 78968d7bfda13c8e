/**
 * The ADS wire as the sidecar's client sees it: the StreamAggregatedResources method loaded
 * from the shipped Envoy protos (the same loader options as the hub), and the request and
 * response shapes proto-loader reads and writes.
 */
import * as protoLoader from '@grpc/proto-loader';
import { ADS_LOADER_OPTIONS, ADS_PROTO, ADS_SERVICE } from '../ads-service.js';
import type { AnyMessage } from '../envoy-protos.js';

/** envoy.config.core.v3.Node as the client sends it (first request of each stream only). */
export interface NodeMessage {
  id: string;
  cluster: string;
  locality: { region: string; zone: string; sub_zone: string };
  user_agent_name: string;
}

/** envoy.service.discovery.v3.DiscoveryRequest. */
export interface ClientDiscoveryRequest {
  version_info: string;
  node: NodeMessage | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  /** google.rpc.Status: set on a NACK. */
  error_detail: { code: number; message: string } | null;
}

/** envoy.service.discovery.v3.DiscoveryResponse, resources still packed. */
export interface ClientDiscoveryResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
}

export interface AdsMethod {
  path: string;
  serialize: (req: ClientDiscoveryRequest) => Buffer;
  deserialize: (bytes: Buffer) => ClientDiscoveryResponse;
}

let method: AdsMethod | undefined;

/** Loaded once per process: parsing the Envoy protos takes a noticeable while. */
export function adsClientMethod(): AdsMethod {
  if (method === undefined) {
    const pkg = protoLoader.loadSync(ADS_PROTO, ADS_LOADER_OPTIONS);
    const m = (pkg[ADS_SERVICE] as protoLoader.ServiceDefinition)['StreamAggregatedResources']!;
    method = {
      path: m.path,
      serialize: m.requestSerialize as (req: ClientDiscoveryRequest) => Buffer,
      deserialize: m.responseDeserialize as (bytes: Buffer) => ClientDiscoveryResponse,
    };
  }
  return method;
}
