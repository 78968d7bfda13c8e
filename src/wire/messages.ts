/**
 * The messages of proto/outrigger/registry/v1/registry.proto as JavaScript objects, in the shape
 * @grpc/proto-loader gives and takes them with REGISTRY_LOADER_OPTIONS (snake_case, enums as
 * strings, 64-bit integers as numbers, absent fields absent). Every field is optional because
 * proto3 cannot tell an unset field from a default one. An enum value this build does not know
 * arrives as its number.
 */
import type { Health } from '../model/health.js';

export type WireEnum<T extends string> = T | number;

export type WireHealth = 'HEALTH_UNSPECIFIED' | Health;
export type WireProtocol = 'PROTOCOL_UNSPECIFIED' | 'PROTOCOL_HTTP' | 'PROTOCOL_HTTP2' | 'PROTOCOL_GRPC' | 'PROTOCOL_TCP';
export type WireSource = 'SOURCE_UNSPECIFIED' | 'SOURCE_SELF' | 'SOURCE_KUBERNETES' | 'SOURCE_STATIC';
export type WireChangeOp = 'CHANGE_OP_UNSPECIFIED' | 'CHANGE_OP_UPSERT' | 'CHANGE_OP_REMOVE';

export interface WireDuration {
  seconds?: number;
  nanos?: number;
}

export interface WireTimestamp {
  seconds?: number;
  nanos?: number;
}

/**
 * google.protobuf.Value. protobufjs defines the well-known types with camelCase field names,
 * which `keepCase` leaves alone; the snake_case spellings are accepted on input too.
 */
export interface WireValue {
  nullValue?: 'NULL_VALUE' | number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: WireStruct;
  listValue?: { values?: WireValue[] };
  null_value?: 'NULL_VALUE' | number;
  number_value?: number;
  string_value?: string;
  bool_value?: boolean;
  struct_value?: WireStruct;
  list_value?: { values?: WireValue[] };
  kind?: string;
}

export interface WireStruct {
  fields?: Record<string, WireValue>;
}

export interface WireLease {
  ttl?: WireDuration;
  deregister_critical_after?: WireDuration;
  renewed_at?: WireTimestamp;
  held?: boolean;
  expired_at?: WireTimestamp;
}

export interface WireInstance {
  id?: string;
  namespace?: string;
  service?: string;
  address?: string;
  port?: number;
  protocol?: WireEnum<WireProtocol>;
  version?: string;
  zone?: string;
  region?: string;
  weight?: number;
  metadata?: Record<string, string>;
  health?: WireEnum<WireHealth>;
  reported_health?: WireEnum<WireHealth>;
  source?: WireEnum<WireSource>;
  lease?: WireLease;
  registered_at?: WireTimestamp;
  updated_at?: WireTimestamp;
  revision?: number;
}

export interface WireService {
  namespace?: string;
  name?: string;
  config?: WireStruct;
  created_at?: WireTimestamp;
  revision?: number;
}

export interface WireNamespace {
  name?: string;
  description?: string;
  created_at?: WireTimestamp;
  revision?: number;
}

export interface RegisterRequest {
  id?: string;
  service?: string;
  namespace?: string;
  address?: string;
  port?: number;
  protocol?: WireEnum<WireProtocol>;
  version?: string;
  zone?: string;
  region?: string;
  weight?: number;
  metadata?: Record<string, string>;
  health?: WireEnum<WireHealth>;
  source?: WireEnum<WireSource>;
  ttl?: WireDuration;
  deregister_critical_after?: WireDuration;
}

export interface RegisterBatchRequest {
  items?: RegisterRequest[];
}

export interface RegisterBatchResult {
  instance?: WireInstance;
  error?: WireError;
  result?: 'instance' | 'error';
}

export interface RegisterBatchResponse {
  results?: RegisterBatchResult[];
  registered?: number;
  failed?: number;
}

export interface DeregisterRequest {
  id?: string;
}

export interface HeartbeatRequest {
  id?: string;
  health?: WireEnum<WireHealth>;
}

export interface ReportHealthRequest {
  id?: string;
  health?: WireEnum<WireHealth>;
}

export interface DrainRequest {
  id?: string;
}

export interface DiscoverRequest {
  namespace?: string;
  service?: string;
  health?: WireEnum<WireHealth>[];
  any_health?: boolean;
  version?: string;
  zone?: string;
  metadata?: Record<string, string>;
  limit?: number;
}

export interface DiscoverResponse {
  instances?: WireInstance[];
  version?: number;
}

export interface ResumePoint {
  epoch?: string;
  version?: number;
}

export interface WatchRequest {
  namespace?: string;
  service?: string;
  resume?: ResumePoint;
}

export interface SnapshotChunk {
  instances?: WireInstance[];
  first?: boolean;
  last?: boolean;
  epoch?: string;
}

export interface InstanceChange {
  op?: WireEnum<WireChangeOp>;
  instance?: WireInstance;
  reason?: string;
}

export interface WatchEvent {
  version?: number;
  snapshot?: SnapshotChunk;
  change?: InstanceChange;
  event?: 'snapshot' | 'change';
}

export interface SessionRequest {
  nonce?: number;
  register?: RegisterRequest;
  heartbeat?: HeartbeatRequest;
  report_health?: ReportHealthRequest;
  drain?: DrainRequest;
  deregister?: DeregisterRequest;
  request?: 'register' | 'heartbeat' | 'report_health' | 'drain' | 'deregister';
}

export interface WireError {
  grpc_code?: number;
  code?: string;
  message?: string;
  field?: string;
}

export interface SessionResponse {
  nonce?: number;
  instance?: WireInstance;
  error?: WireError;
  result?: 'instance' | 'error';
}

export interface PutServiceRequest {
  namespace?: string;
  name?: string;
  config?: WireStruct;
}

export interface GetServiceRequest {
  namespace?: string;
  name?: string;
}

export interface ListServicesRequest {
  namespace?: string;
}

export interface ListServicesResponse {
  services?: WireService[];
}

export interface DeleteServiceRequest {
  namespace?: string;
  name?: string;
}

export interface CreateNamespaceRequest {
  name?: string;
  description?: string;
}

export type ListNamespacesRequest = Record<string, never>;

export interface ListNamespacesResponse {
  namespaces?: WireNamespace[];
}

export interface DeleteNamespaceRequest {
  name?: string;
}
