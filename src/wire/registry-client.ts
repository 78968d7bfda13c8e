/**
 * A typed client for outrigger.registry.v1.Registry, for the sidecar's registrar, the CLI and
 * tests. grpc-js builds the client at run time; this file only gives it types and a promise
 * form of the unary calls.
 */
import * as grpc from '@grpc/grpc-js';
import { ERROR_CODE_KEY, ERROR_FIELD_KEY, readHeaderText } from './grpc-errors.js';
import type * as m from './messages.js';
import { registryClientConstructor } from './registry-proto.js';

export interface UnaryMethod<Req, Res> {
  (request: Req, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
  (request: Req, metadata: grpc.Metadata, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
  (request: Req, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
}

export interface RegistryUnaryMethods {
  Register: UnaryMethod<m.RegisterRequest, m.WireInstance>;
  RegisterBatch: UnaryMethod<m.RegisterBatchRequest, m.RegisterBatchResponse>;
  Deregister: UnaryMethod<m.DeregisterRequest, m.WireInstance>;
  Heartbeat: UnaryMethod<m.HeartbeatRequest, m.WireInstance>;
  ReportHealth: UnaryMethod<m.ReportHealthRequest, m.WireInstance>;
  Discover: UnaryMethod<m.DiscoverRequest, m.DiscoverResponse>;
  PutService: UnaryMethod<m.PutServiceRequest, m.WireService>;
  GetService: UnaryMethod<m.GetServiceRequest, m.WireService>;
  ListServices: UnaryMethod<m.ListServicesRequest, m.ListServicesResponse>;
  DeleteService: UnaryMethod<m.DeleteServiceRequest, m.WireService>;
  CreateNamespace: UnaryMethod<m.CreateNamespaceRequest, m.WireNamespace>;
  ListNamespaces: UnaryMethod<m.ListNamespacesRequest, m.ListNamespacesResponse>;
  DeleteNamespace: UnaryMethod<m.DeleteNamespaceRequest, m.WireNamespace>;
}

export interface RegistryClient extends grpc.Client, RegistryUnaryMethods {
  Watch(request: m.WatchRequest, metadata?: grpc.Metadata, options?: Partial<grpc.CallOptions>): grpc.ClientReadableStream<m.WatchEvent>;
  Session(metadata?: grpc.Metadata, options?: Partial<grpc.CallOptions>): grpc.ClientDuplexStream<m.SessionRequest, m.SessionResponse>;
}

export function createRegistryClient(
  target: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options?: grpc.ClientOptions,
): RegistryClient {
  const Ctor = registryClientConstructor();
  return new Ctor(target, credentials, options) as unknown as RegistryClient;
}

type RequestOf<K extends keyof RegistryUnaryMethods> = RegistryUnaryMethods[K] extends UnaryMethod<infer Req, unknown> ? Req : never;
type ResponseOf<K extends keyof RegistryUnaryMethods> = RegistryUnaryMethods[K] extends UnaryMethod<never, infer Res> ? Res : never;

/** A unary call as a promise; rejects with the grpc ServiceError. */
export function callUnary<K extends keyof RegistryUnaryMethods>(
  client: RegistryClient,
  method: K,
  request: RequestOf<K>,
  options: Partial<grpc.CallOptions> = {},
): Promise<ResponseOf<K>> {
  return new Promise((resolve, reject) => {
    const fn = client[method] as unknown as UnaryMethod<RequestOf<K>, ResponseOf<K>>;
    fn.call(client, request, new grpc.Metadata(), options, (err, res) => {
      if (err) reject(err);
      else resolve(res as ResponseOf<K>);
    });
  });
}

/** The hub's stable error code and field, read back from a failed call's trailing metadata. */
export function errorDetails(err: grpc.ServiceError): { code?: string; field?: string } {
  const read = (key: string): string | undefined => {
    const v = err.metadata?.get(key)[0];
    return typeof v === 'string' ? v : undefined;
  };
  const code = read(ERROR_CODE_KEY);
  const raw = read(ERROR_FIELD_KEY);
  const field = raw === undefined ? undefined : readHeaderText(raw);
  return { ...(code !== undefined ? { code } : {}), ...(field !== undefined ? { field } : {}) };
}
