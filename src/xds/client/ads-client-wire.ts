/**
 * The ADS wire as the sidecar's client sees it: the StreamAggregatedResources method, its
 * DiscoveryRequest and DiscoveryResponse coded with protobufjs types from the shipped Envoy
 * protos (only discovery.proto and its imports: proto-loader would parse the whole ADS service
 * tree a second time, with descriptors the client never reads), read and written with the same
 * conventions as the hub's proto-loader options (snake_case, enums as names, 64-bit integers as
 * strings, defaults filled in, oneof names set).
 */
import { ADS_SERVICE, type DeltaDiscoveryRequest } from '../ads-service.js';
import { messageType, type AnyMessage } from '../envoy-protos.js';

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

const READ_AS = { longs: String, enums: String, defaults: true, oneofs: true } as const;

/** Loaded once per process: parsing the Envoy protos takes a noticeable while. */
export function adsClientMethod(): AdsMethod {
  if (method === undefined) {
    const request = messageType('envoy.service.discovery.v3.DiscoveryRequest');
    const response = messageType('envoy.service.discovery.v3.DiscoveryResponse');
    method = {
      path: `/${ADS_SERVICE}/StreamAggregatedResources`,
      serialize: (req) => {
        const bytes = request.encode(request.fromObject(req as unknown as Record<string, unknown>)).finish();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
      deserialize: (bytes) => response.toObject(response.decode(bytes), READ_AS) as unknown as ClientDiscoveryResponse,
    };
  }
  return method;
}

/** envoy.service.discovery.v3.DeltaDiscoveryRequest, with the node as the client writes it. */
export type ClientDeltaRequest = Omit<DeltaDiscoveryRequest, 'node'> & { node: NodeMessage | null };

/** envoy.service.discovery.v3.DeltaDiscoveryResponse, resources still packed. */
export interface ClientDeltaResponse {
  system_version_info: string;
  resources: Array<{ name: string; version: string; resource: AnyMessage | null }>;
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

export interface DeltaMethod {
  path: string;
  serialize: (req: ClientDeltaRequest) => Buffer;
  deserialize: (bytes: Buffer) => ClientDeltaResponse;
}

let delta: DeltaMethod | undefined;

export function deltaClientMethod(): DeltaMethod {
  if (delta === undefined) {
    const request = messageType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
    const response = messageType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
    delta = {
      path: `/${ADS_SERVICE}/DeltaAggregatedResources`,
      serialize: (req) => {
        const bytes = request.encode(request.fromObject(req as unknown as Record<string, unknown>)).finish();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
      deserialize: (bytes) => response.toObject(response.decode(bytes), READ_AS) as unknown as ClientDeltaResponse,
    };
  }
  return delta;
}
