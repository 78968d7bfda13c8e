/**
 * Simulated sidecars for the hub benchmark, in their own process: many state-of-the-world ADS
 * streams multiplexed over a few gRPC connections (as many streams per connection as told),
 * each subscribing CDS then EDS for its services and ACKing every response. Responses are not
 * decoded beyond their header fields (version, type, nonce, resource count), so the client
 * spends as little as possible of the shared core. Driven over IPC by bench/hub-fanout.ts.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { performance } from 'node:perf_hooks';
import { ADS_LOADER_OPTIONS, ADS_PROTO, ADS_SERVICE } from '../../src/xds/ads-service.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '../../src/xds/type-urls.js';

export interface SwarmOpen {
  /** Bearer token sent as `authorization` metadata on every stream. */
  token?: string;
  kind: 'open';
  /** Hub replicas (host:port): the connections go to them in turn, so the streams are spread evenly. */
  hubs: string[];
  /** Each stream's cluster names. */
  streams: string[][];
  perConnection: number;
}
export interface SwarmMark {
  kind: 'mark';
}
export interface SwarmClose {
  kind: 'close';
}
export type SwarmCommand = SwarmOpen | SwarmMark | SwarmClose;

export interface SwarmOpened {
  kind: 'opened';
  /** Epoch ms at which the streams were opened, then when each got its first response and its full config. */
  startedAt: number;
  firstResponseAt: number[];
  fullConfigAt: number[];
  failed: number;
}
export interface SwarmUpdate {
  kind: 'update';
  /** Epoch ms of each stream's first EDS response after the mark (NaN: none yet). */
  receivedAt: number[];
  /** Resources in that response (1 when only the changed ClusterLoadAssignment is sent). */
  resources: number[];
  /** Bytes of that response (the DiscoveryResponse message). */
  bytes: number[];
}
export type SwarmReport = SwarmOpened | SwarmUpdate | { kind: 'closed' } | { kind: 'error'; message: string };

interface Header {
  version: string;
  typeUrl: string;
  nonce: string;
  resources: number;
  bytes: number;
}

const now = (): number => performance.timeOrigin + performance.now();

function varint(b: Buffer, at: number): [number, number] {
  let x = 0;
  let mul = 1;
  for (;;) {
    const byte = b[at++]!;
    x += (byte & 0x7f) * mul;
    if (byte < 0x80) return [x, at];
    mul *= 128;
  }
}

/** DiscoveryResponse's fields 1 (version_info), 2 (resources, counted), 4 (type_url), 5 (nonce). */
function readHeader(b: Buffer): Header {
  const h: Header = { version: '', typeUrl: '', nonce: '', resources: 0, bytes: b.length };
  let at = 0;
  while (at < b.length) {
    let tag: number;
    [tag, at] = varint(b, at);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      [, at] = varint(b, at);
      continue;
    }
    if (wire === 5) {
      at += 4;
      continue;
    }
    if (wire === 1) {
      at += 8;
      continue;
    }
    let len: number;
    [len, at] = varint(b, at);
    if (field === 1) h.version = b.toString('utf8', at, at + len);
    else if (field === 2) h.resources++;
    else if (field === 4) h.typeUrl = b.toString('utf8', at, at + len);
    else if (field === 5) h.nonce = b.toString('utf8', at, at + len);
    at += len;
  }
  return h;
}

const pkg = protoLoader.loadSync(ADS_PROTO, ADS_LOADER_OPTIONS);
const method = (pkg[ADS_SERVICE] as protoLoader.ServiceDefinition)['StreamAggregatedResources']!;
const serialize = method.requestSerialize as (r: object) => Buffer;

interface Stream {
  call: grpc.ClientDuplexStream<object, Header>;
  names: string[];
  edsResources: number;
  firstResponseAt: number;
  fullConfigAt: number;
  updateAt: number;
  updateResources: number;
  updateBytes: number;
}

let clients: grpc.Client[] = [];
let streams: Stream[] = [];
let marked = false;

function send(process: NodeJS.Process, r: SwarmReport): void {
  process.send!(r);
}

function open(cmd: SwarmOpen): void {
  const startedAt = now();
  let pending = cmd.streams.length;
  let failed = 0;
  const done = (): void => {
    if (--pending === 0) {
      send(process, { kind: 'opened', startedAt, firstResponseAt: streams.map((s) => s.firstResponseAt), fullConfigAt: streams.map((s) => s.fullConfigAt), failed });
    }
  };
  cmd.streams.forEach((names, i) => {
    if (i % cmd.perConnection === 0) {
      // A private subchannel pool: each client is its own HTTP/2 connection.
      const hub = cmd.hubs[(i / cmd.perConnection) % cmd.hubs.length]!;
      clients.push(new grpc.Client(hub, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': 64 << 20 }));
    }
    const client = clients[clients.length - 1]!;
    const metadata = new grpc.Metadata();
    if (cmd.token !== undefined) metadata.set('authorization', `Bearer ${cmd.token}`);
    const call = client.makeBidiStreamRequest<object, Header>(method.path, serialize, readHeader, metadata);
    const node = { id: `sim-${process.pid}-${i}`, cluster: 'bench-sim', user_agent_name: 'outrigger-bench' };
    const s: Stream = { call, names, edsResources: 0, firstResponseAt: NaN, fullConfigAt: NaN, updateAt: NaN, updateResources: 0, updateBytes: 0 };
    streams.push(s);
    let counted = false;
    let edsAsked = false;
    call.on('data', (h: Header) => {
      const t = now();
      if (Number.isNaN(s.firstResponseAt)) s.firstResponseAt = t;
      if (h.typeUrl === ENDPOINT_TYPE_URL) {
        if (marked && Number.isNaN(s.updateAt)) {
          s.updateAt = t;
          s.updateResources = h.resources;
          s.updateBytes = h.bytes;
        }
        s.edsResources += h.resources;
        if (!counted && s.edsResources >= names.length) {
          counted = true;
          s.fullConfigAt = t;
          done();
        }
      }
      call.write({ version_info: h.version, node, resource_names: names, type_url: h.typeUrl, response_nonce: h.nonce });
      if (h.typeUrl === CLUSTER_TYPE_URL && !edsAsked) {
        edsAsked = true;
        call.write({ version_info: '', node, resource_names: names, type_url: ENDPOINT_TYPE_URL, response_nonce: '' });
      }
    });
    call.on('error', () => {
      if (!counted) {
        counted = true;
        failed++;
        done();
      }
    });
    call.write({ version_info: '', node, resource_names: names, type_url: CLUSTER_TYPE_URL, response_nonce: '' });
  });
}

process.on('message', (cmd: SwarmCommand) => {
  try {
    if (cmd.kind === 'open') open(cmd);
    else if (cmd.kind === 'mark') {
      for (const s of streams) s.updateAt = NaN;
      marked = true;
      // Reports once every stream has the update, or after 60 s with NaN for the missing ones.
      const end = Date.now() + 60_000;
      const check = (): void => {
        if (streams.every((s) => !Number.isNaN(s.updateAt)) || Date.now() > end) {
          marked = false;
          send(process, { kind: 'update', receivedAt: streams.map((s) => s.updateAt), resources: streams.map((s) => s.updateResources), bytes: streams.map((s) => s.updateBytes) });
        } else setTimeout(check, 20);
      };
      check();
    } else if (cmd.kind === 'close') {
      for (const s of streams) s.call.cancel();
      for (const c of clients) c.close();
      streams = [];
      clients = [];
      send(process, { kind: 'closed' });
    }
  } catch (err) {
    send(process, { kind: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
process.on('disconnect', () => process.exit(0));
