import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { envoyProtoDirs } from '../common/paths.js';
import { typeUrlOf } from './type-urls.js';

/**
 * The types a sidecar's ADS client codes (with the load-balancing policies a Cluster may nest in
 * an Any), read from a protobufjs JSON descriptor generated from the shipped .proto files rather
 * than by parsing those files: about half the heap, and no .proto text kept. The build writes it
 * (`src/cli/write-envoy-descriptor.mjs`) beside this module, so it always matches the installed
 * @grpc/grpc-js-xds and nothing of Envoy's is kept in the repository; without it (a bare `tsc`)
 * the types are read from the .proto files as every other type is.
 */
export const CLIENT_TYPES: readonly string[] = [
  'envoy.service.discovery.v3.DiscoveryRequest',
  'envoy.service.discovery.v3.DiscoveryResponse',
  'envoy.service.discovery.v3.DeltaDiscoveryRequest',
  'envoy.service.discovery.v3.DeltaDiscoveryResponse',
  'envoy.config.cluster.v3.Cluster',
  'envoy.config.endpoint.v3.ClusterLoadAssignment',
  'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
  'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
  'envoy.extensions.load_balancing_policies.random.v3.Random',
  'google.protobuf.Any',
];
export const CLIENT_DESCRIPTOR_FILE = fileURLToPath(new URL('./envoy-ads-client.json', import.meta.url));

/**
 * The .proto file that defines each message type Outrigger encodes or decodes (its imports are
 * loaded with it). A process loads only the files of the types it uses: a sidecar's ADS client
 * decodes Clusters and ClusterLoadAssignments and never pays for listeners, routes and the HTTP
 * connection manager, which only the hub builds.
 */
const FILE_OF: Readonly<Record<string, string>> = {
  'envoy.service.discovery.v3.DiscoveryRequest': 'envoy/service/discovery/v3/discovery.proto',
  'envoy.service.discovery.v3.DiscoveryResponse': 'envoy/service/discovery/v3/discovery.proto',
  'envoy.service.discovery.v3.DeltaDiscoveryRequest': 'envoy/service/discovery/v3/discovery.proto',
  'envoy.service.discovery.v3.DeltaDiscoveryResponse': 'envoy/service/discovery/v3/discovery.proto',
  'envoy.config.cluster.v3.Cluster': 'envoy/config/cluster/v3/cluster.proto',
  'envoy.config.endpoint.v3.ClusterLoadAssignment': 'envoy/config/endpoint/v3/endpoint.proto',
  'envoy.config.listener.v3.Listener': 'envoy/config/listener/v3/listener.proto',
  'envoy.config.route.v3.RouteConfiguration': 'envoy/config/route/v3/route.proto',
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager':
    'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy.extensions.filters.http.router.v3.Router': 'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin': 'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest': 'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy.extensions.load_balancing_policies.random.v3.Random': 'envoy/extensions/load_balancing_policies/random/v3/random.proto',
};

/** google.protobuf.Any as protobufjs encodes and decodes it. */
export interface AnyMessage {
  type_url: string;
  value: Buffer | Uint8Array;
}

const require = createRequire(import.meta.url);
let root: protobuf.Root | undefined;
let clientRoot: protobuf.Root | undefined;
const types = new Map<string, protobuf.Type>();

/**
 * A protobufjs Root over the Envoy, xDS, googleapis and validate trees that @grpc/grpc-js-xds
 * ships, plus protobufjs' own google/protobuf files (descriptor.proto is imported by the
 * annotations but not bundled). Files are added as their types are first asked for.
 */
function protoFileRoot(): protobuf.Root {
  const dirs = [...envoyProtoDirs(), path.dirname(require.resolve('protobufjs/package.json'))];
  const r = new protobuf.Root();
  r.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of dirs) {
      const full = path.join(dir, target);
      if (fs.existsSync(full)) return full;
    }
    return protobuf.util.path.resolve(origin, target);
  };
  return r;
}

/** Loads the files of the named types (every known file for a type not listed) into a root. */
function loadTypes(r: protobuf.Root, typeNames: readonly string[]): void {
  const files = typeNames.map((t) => FILE_OF[t]);
  r.loadSync(files.includes(undefined) ? [...new Set(Object.values(FILE_OF))] : [...new Set(files as string[])], { keepCase: true });
  r.resolveAll();
}

/** The client types read from their .proto files (google.protobuf.Any comes with them). */
function clientProtoFileRoot(): protobuf.Root {
  const r = protoFileRoot();
  loadTypes(r, CLIENT_TYPES.filter((t) => t !== 'google.protobuf.Any'));
  return r;
}

function descriptorRoot(): protobuf.Root {
  if (clientRoot === undefined) {
    if (fs.existsSync(CLIENT_DESCRIPTOR_FILE)) {
      clientRoot = protobuf.Root.fromJSON(JSON.parse(fs.readFileSync(CLIENT_DESCRIPTOR_FILE, 'utf8')) as protobuf.INamespace);
      clientRoot.resolveAll();
    } else clientRoot = clientProtoFileRoot();
  }
  return clientRoot;
}

/** The message type: a client type from the descriptor, any other from its file, loaded on first use. */
export function messageType(typeName: string): protobuf.Type {
  let t = types.get(typeName);
  if (t !== undefined) return t;
  if (CLIENT_TYPES.includes(typeName)) t = descriptorRoot().lookupType(typeName);
  else {
    root ??= protoFileRoot();
    if (root.lookup(typeName) === null) loadTypes(root, [typeName]);
    t = root.lookupType(typeName);
  }
  types.set(typeName, t);
  return t;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Encodes a plain object (snake_case fields, enums by name) as the named message. */
export function encodeMessage(typeName: string, value: object): Buffer {
  const t = messageType(typeName);
  return toBuffer(t.encode(t.fromObject(value as Record<string, unknown>)).finish());
}

/** Packs a message into an Any, for nesting (e.g. the HttpConnectionManager in a Listener). */
export function packAny(typeName: string, value: object): AnyMessage {
  return { type_url: typeUrlOf(typeName), value: encodeMessage(typeName, value) };
}

/** The wire bytes of an Any holding the message: what a DiscoveryResponse repeats per resource. */
export function encodeAny(typeName: string, value: object): Buffer {
  return encodeMessage('google.protobuf.Any', packAny(typeName, value));
}

/** Decodes an Any into a plain object (enums as names, 64-bit ints as strings, oneof names set). */
export function decodeAny(any: AnyMessage): Record<string, unknown> {
  const typeName = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
  const t = messageType(typeName);
  return t.toObject(t.decode(any.value), { enums: String, longs: String, defaults: false, oneofs: true, bytes: Buffer });
}

/** The client types' descriptor as the shipped .proto files give it today (what CLIENT_DESCRIPTOR_FILE must hold). */
export function envoyClientDescriptor(): string {
  return JSON.stringify(clientProtoFileRoot().toJSON({ keepComments: false })) + '\n';
}
