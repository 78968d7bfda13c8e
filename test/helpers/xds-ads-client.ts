import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ADS_LOADER_OPTIONS, ADS_PROTO, ADS_SERVICE } from '../../src/xds/ads-service.js';
import { decodeAny, type AnyMessage } from '../../src/xds/envoy-protos.js';
import { Changes } from './wait.js';

interface RawResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
}

interface RawRequest {
  version_info: string;
  node: { id: string } | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail: { code: number; message: string } | null;
}

/** A DiscoveryResponse with its resources decoded. */
export interface Response {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: Array<Record<string, unknown>>;
  /** Resource names in response order. */
  names: string[];
}

let method: protoLoader.MethodDefinition<object, object> | undefined;

function sotwMethod(): protoLoader.MethodDefinition<object, object> {
  if (method === undefined) {
    const pkg = protoLoader.loadSync(ADS_PROTO, ADS_LOADER_OPTIONS);
    method = (pkg[ADS_SERVICE] as protoLoader.ServiceDefinition)['StreamAggregatedResources']!;
  }
  return method;
}

function resourceName(r: Record<string, unknown>): string {
  return String(r['name'] ?? r['cluster_name'] ?? '');
}

/**
 * A raw state-of-the-world ADS stream driven by hand, with a real grpc-js client: each test
 * writes the requests and reads responses one at a time, waiting with an upper bound.
 */
export class AdsTestStream {
  private readonly queue: Response[] = [];
  private ended: grpc.StatusObject | undefined;
  private readonly changes = new Changes();
  readonly call: grpc.ClientDuplexStream<RawRequest, RawResponse>;
  /** Every response received so far, read or not. */
  received = 0;

  constructor(
    readonly client: grpc.Client,
    readonly nodeId = 'test-node',
    /** Sent as `authorization: Bearer <token>`, as a sidecar presents its identity. */
    token?: string,
  ) {
    const m = sotwMethod();
    const metadata = new grpc.Metadata();
    if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
    this.call = client.makeBidiStreamRequest<RawRequest, RawResponse>(
      m.path,
      m.requestSerialize as (r: RawRequest) => Buffer,
      m.responseDeserialize as (b: Buffer) => RawResponse,
      metadata,
    );
    this.call.on('data', (raw: RawResponse) => {
      this.received++;
      const resources = raw.resources.map((a) => decodeAny(a));
      this.queue.push({ version_info: raw.version_info, type_url: raw.type_url, nonce: raw.nonce, resources, names: resources.map(resourceName) });
      this.changes.changed();
    });
    this.call.on('error', () => {});
    this.call.on('status', (s: grpc.StatusObject) => {
      this.ended = s;
      this.changes.changed();
    });
  }

  static open(address: string, nodeId?: string, token?: string): AdsTestStream {
    return new AdsTestStream(new grpc.Client(address, grpc.credentials.createInsecure()), nodeId, token);
  }

  /** Another stream on the same client (same HTTP/2 connection). */
  sibling(nodeId = this.nodeId): AdsTestStream {
    return new AdsTestStream(this.client, nodeId);
  }

  request(typeUrl: string, names: string[], opts: { nonce?: string; version?: string; error?: string } = {}): void {
    this.call.write({
      version_info: opts.version ?? '',
      node: { id: this.nodeId },
      resource_names: names,
      type_url: typeUrl,
      response_nonce: opts.nonce ?? '',
      error_detail: opts.error === undefined ? null : { code: grpc.status.INVALID_ARGUMENT, message: opts.error },
    });
  }

  ack(r: Response, names: string[]): void {
    this.request(r.type_url, names, { nonce: r.nonce, version: r.version_info });
  }

  nack(r: Response, names: string[], keptVersion: string, error: string): void {
    this.request(r.type_url, names, { nonce: r.nonce, version: keptVersion, error });
  }

  /** The next response, or a rejection after `timeoutMs`. */
  next(timeoutMs = 10_000): Promise<Response> {
    return this.changes.eventually('a response', () => this.queue.shift(), timeoutMs);
  }

  /** The next response, or the stream's final status if it ends first; a rejection after `timeoutMs`. */
  nextOrEnd(timeoutMs = 10_000): Promise<Response | grpc.StatusObject> {
    return this.changes.eventually('a response or the end of the stream', () => this.queue.shift() ?? this.ended, timeoutMs);
  }

  /** Every response received and not read yet, now. */
  readAll(): Response[] {
    return this.queue.splice(0);
  }

  /** The stream's final status. */
  status(timeoutMs = 10_000): Promise<grpc.StatusObject> {
    return this.changes.eventually('the stream to end', () => this.ended, timeoutMs);
  }

  /** Responses received but not read yet. */
  get unread(): number {
    return this.queue.length;
  }

  close(): void {
    this.call.cancel();
  }

  closeClient(): void {
    this.call.cancel();
    this.client.close();
  }
}

/**
 * An ADS stream on an HTTP/2 connection of its own that sends one request and never reads: a
 * grpc-js client takes in whole messages (and buffers several) even while paused, so a reader
 * that truly stalls is made at the HTTP/2 level, where its flow-control window closes.
 */
export function stalledAdsStream(address: string, nodeId: string, typeUrl: string): { close(): void } {
  const session = http2.connect(`http://${address}`);
  session.on('error', () => {});
  const stream = session.request({ ':method': 'POST', ':path': sotwMethod().path, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => {});
  stream.pause();
  const body = sotwMethod().requestSerialize({ version_info: '', node: { id: nodeId }, resource_names: [], type_url: typeUrl, response_nonce: '', error_detail: null });
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  stream.write(frame);
  return { close: () => session.destroy() };
}
