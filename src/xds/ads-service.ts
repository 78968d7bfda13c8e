import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { envoyProtoDirs } from '../common/paths.js';

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const ADS_PROTO = 'envoy/service/discovery/v3/ads.proto';

/** proto-loader options used to read ADS messages, on the hub and in tests alike. */
export const ADS_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: envoyProtoDirs(),
};

/** envoy.config.core.v3.Node, the parts the hub looks at. */
export interface NodeInfo {
  id: string;
  cluster: string;
  user_agent_name: string;
}

/** envoy.service.discovery.v3.DiscoveryRequest as proto-loader decodes it. */
export interface DiscoveryRequest {
  version_info: string;
  node: NodeInfo | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail: { code: number; message: string } | null;
}

/** A SotW stream as the hub sees it: requests decoded, responses already encoded bytes. */
export type SotwCall = grpc.ServerDuplexStream<DiscoveryRequest, Buffer>;

/** envoy.service.discovery.v3.DeltaDiscoveryRequest as proto-loader decodes it. */
export interface DeltaDiscoveryRequest {
  node: NodeInfo | null;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail: { code: number; message: string } | null;
}

/** A delta (incremental) stream as the hub sees it. */
export type DeltaCall = grpc.ServerDuplexStream<DeltaDiscoveryRequest, Buffer>;

/** Either kind of ADS stream, before it is told apart (admission looks only at the call's metadata and peer). */
export type AdsCall = SotwCall | DeltaCall;

export interface AdsServiceImplementation extends grpc.UntypedServiceImplementation {
  StreamAggregatedResources: grpc.handleBidiStreamingCall<DiscoveryRequest, Buffer>;
  DeltaAggregatedResources: grpc.handleBidiStreamingCall<DeltaDiscoveryRequest, Buffer>;
}

/**
 * The ADS service definition, loaded with proto-loader from the shipped Envoy protos, with one
 * change: both methods take responses as ready-made bytes (see ResponseEncoder), so grpc-js does
 * not encode the same resources again per stream. Requests are decoded as usual.
 */
export function adsServiceDefinition(): grpc.ServiceDefinition<AdsServiceImplementation> {
  const pkg = protoLoader.loadSync(ADS_PROTO, ADS_LOADER_OPTIONS);
  const svc = pkg[ADS_SERVICE] as protoLoader.ServiceDefinition;
  const sotw = svc['StreamAggregatedResources']!;
  const delta = svc['DeltaAggregatedResources']!;
  const identity = (b: Buffer): Buffer => b;
  return {
    StreamAggregatedResources: {
      path: sotw.path,
      originalName: sotw.originalName,
      requestStream: true,
      responseStream: true,
      requestSerialize: sotw.requestSerialize as (r: DiscoveryRequest) => Buffer,
      requestDeserialize: sotw.requestDeserialize as (b: Buffer) => DiscoveryRequest,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
    DeltaAggregatedResources: {
      path: delta.path,
      originalName: delta.originalName,
      requestStream: true,
      responseStream: true,
      requestSerialize: delta.requestSerialize as (r: DeltaDiscoveryRequest) => Buffer,
      requestDeserialize: delta.requestDeserialize as (b: Buffer) => DeltaDiscoveryRequest,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
}
