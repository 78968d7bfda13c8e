import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ADS_LOADER_OPTIONS, ADS_PROTO, ADS_SERVICE } from '../../src/xds/ads-service.js';
import { decodeAny, type AnyMessage } from '../../src/xds/envoy-protos.js';
import { Changes } from './wait.js';

interface RawDeltaResponse {
  system_version_info: string;
  resources: Array<{ name: string; version: string; resource: AnyMessage }>;
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

/** A DeltaDiscoveryResponse with its resources decoded. */
export interface DeltaResponse {
  system_version_info: string;
  type_url: string;
  nonce: string;
  /** name → version, in response order. */
  versions: Array<[string, string]>;
  resources: Array<Record<string, unknown>>;
  removed: string[];
}

let method: protoLoader.MethodDefinition<object, object> | undefined;

function deltaMethod(): protoLoader.MethodDefinition<object, object> {
  if (method === undefined) {
    const pkg = protoLoader.loadSync(ADS_PROTO, ADS_LOADER_OPTIONS);
    method = (pkg[ADS_SERVICE] as protoLoader.ServiceDefinition)['DeltaAggregatedResources']!;
  }
  return method;
}

/** A raw delta ADS stream driven by hand with a real grpc-js client, one request and one response at a time. */
export class DeltaTestStream {
  private readonly queue: DeltaResponse[] = [];
  private ended: grpc.StatusObject | undefined;
  private readonly changes = new Changes();
  readonly call: grpc.ClientDuplexStream<Record<string, unknown>, RawDeltaResponse>;

  constructor(
    readonly client: grpc.Client,
    readonly nodeId = 'delta-node',
    token?: string,
  ) {
    const m = deltaMethod();
    const metadata = new grpc.Metadata();
    if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
    this.call = client.makeBidiStreamRequest(m.path, m.requestSerialize as (r: Record<string, unknown>) => Buffer, m.responseDeserialize as (b: Buffer) => RawDeltaResponse, metadata);
    this.call.on('data', (raw: RawDeltaResponse) => {
      this.queue.push({
        system_version_info: raw.system_version_info,
        type_url: raw.type_url,
        nonce: raw.nonce,
        versions: raw.resources.map((r) => [r.name, r.version]),
        resources: raw.resources.map((r) => decodeAny(r.resource)),
        removed: raw.removed_resources,
      });
      this.changes.changed();
    });
    this.call.on('error', () => {});
    this.call.on('status', (s: grpc.StatusObject) => {
      this.ended = s;
      this.changes.changed();
    });
  }

  static open(address: string, nodeId?: string, token?: string): DeltaTestStream {
    return new DeltaTestStream(new grpc.Client(address, grpc.credentials.createInsecure()), nodeId, token);
  }

  request(typeUrl: string, opts: { subscribe?: string[]; unsubscribe?: string[]; initial?: Record<string, string>; nonce?: string; error?: string } = {}): void {
    this.call.write({
      node: { id: this.nodeId },
      type_url: typeUrl,
      resource_names_subscribe: opts.subscribe ?? [],
      resource_names_unsubscribe: opts.unsubscribe ?? [],
      initial_resource_versions: opts.initial ?? {},
      response_nonce: opts.nonce ?? '',
      error_detail: opts.error === undefined ? null : { code: grpc.status.INVALID_ARGUMENT, message: opts.error },
    });
  }

  ack(r: DeltaResponse): void {
    this.request(r.type_url, { nonce: r.nonce });
  }

  nack(r: DeltaResponse, error: string): void {
    this.request(r.type_url, { nonce: r.nonce, error });
  }

  next(timeoutMs = 10_000): Promise<DeltaResponse> {
    return this.changes.eventually('a delta response', () => this.queue.shift(), timeoutMs);
  }

  status(timeoutMs = 10_000): Promise<grpc.StatusObject> {
    return this.changes.eventually('the stream to end', () => this.ended, timeoutMs);
  }

  get unread(): number {
    return this.queue.length;
  }

  closeClient(): void {
    this.call.cancel();
    this.client.close();
  }
}
