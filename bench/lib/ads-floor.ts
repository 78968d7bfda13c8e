/**
 * The floor for the hub benchmark's convergence figure: a bare grpc-js server, on the hub's core,
 * speaking just enough state-of-the-world ADS for the simulated sidecars (bench/lib/ads-swarm.ts)
 * to subscribe (one CDS answer, one EDS answer covering the stream's clusters, requests never
 * decoded), which then writes one pre-encoded message of a given size to every stream at once.
 * The time until each stream has it is what the socket writes cost, with none of the hub's work.
 * Driven over IPC by bench/hub-fanout.ts: {kind: 'push', bytes} → {kind: 'pushed'}.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { ADS_SERVICE } from '../../src/xds/ads-service.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '../../src/xds/type-urls.js';

export type FloorCommand = { kind: 'push'; bytes: number };
export type FloorReport = { kind: 'listening'; address: string } | { kind: 'pushed'; streams: number };

const WATCHED = 10;

/** A DiscoveryResponse of this type with `resources` Anys of `anyBytes` bytes each. */
function response(typeUrl: string, version: string, nonce: string, resources: number, anyBytes: number): Buffer {
  const w = protobuf.Writer.create();
  const filler = Buffer.alloc(Math.max(0, anyBytes), 0x61);
  for (let i = 0; i < resources; i++) w.uint32((2 << 3) | 2).fork().uint32((1 << 3) | 2).string(typeUrl).uint32((2 << 3) | 2).bytes(filler).ldelim();
  w.uint32((1 << 3) | 2).string(version).uint32((4 << 3) | 2).string(typeUrl).uint32((5 << 3) | 2).string(nonce);
  return Buffer.from(w.finish());
}

const calls = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();
const cds = response(CLUSTER_TYPE_URL, '1', 'c1', WATCHED, 16);
const eds = response(ENDPOINT_TYPE_URL, '1', 'e1', WATCHED, 16);
const identity = (b: Buffer): Buffer => b;
const server = new grpc.Server();
server.addService(
  {
    StreamAggregatedResources: { path: `/${ADS_SERVICE}/StreamAggregatedResources`, requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity, originalName: 'streamAggregatedResources' },
  },
  {
    StreamAggregatedResources: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      calls.add(call);
      let requests = 0;
      // The simulated sidecar sends CDS, then its ACK and the EDS request, then ACKs.
      call.on('data', () => {
        requests++;
        if (requests === 1) call.write(cds);
        else if (requests === 3) call.write(eds);
      });
      const gone = (): void => void calls.delete(call);
      call.on('cancelled', gone);
      call.on('error', gone);
      call.on('end', () => {
        gone();
        call.end();
      });
    },
  },
);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err !== null) throw err;
  process.send!({ kind: 'listening', address: `127.0.0.1:${port}` } satisfies FloorReport);
});
let pushes = 0;
process.on('message', (cmd: FloorCommand) => {
  if (cmd.kind !== 'push') return;
  pushes++;
  // One message, encoded once, the same bytes written to every stream.
  const message = response(ENDPOINT_TYPE_URL, String(1 + pushes), `p${pushes}`, 1, Math.max(0, cmd.bytes - 64));
  for (const call of calls) call.write(message);
  process.send!({ kind: 'pushed', streams: calls.size } satisfies FloorReport);
});
process.on('disconnect', () => process.exit(0));
