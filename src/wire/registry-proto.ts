/**
 * Loads outrigger.registry.v1 from the package's proto/ folder, once per process, so the hub,
 * the sidecar's registrar, the CLI and tests all speak exactly the same messages.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR } from '../common/paths.js';

export const REGISTRY_PROTO_FILE = 'outrigger/registry/v1/registry.proto';
export const REGISTRY_SERVICE_NAME = 'outrigger.registry.v1.Registry';

/**
 * snake_case as in the registry's input, enums as their names, 64-bit versions as numbers (a
 * registry version stays far below 2^53), and no defaults filled in, so "absent" stays visible.
 */
export const REGISTRY_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let loaded: grpc.ServiceClientConstructor | undefined;

/** The generated client constructor; its `.service` is the service definition servers add. */
export function registryClientConstructor(): grpc.ServiceClientConstructor {
  if (loaded === undefined) {
    const definition = protoLoader.loadSync(REGISTRY_PROTO_FILE, REGISTRY_LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(definition);
    const ctor = REGISTRY_SERVICE_NAME.split('.').reduce<unknown>(
      (node, part) => (node as Record<string, unknown> | undefined)?.[part],
      pkg,
    );
    if (typeof ctor !== 'function') throw new Error(`${REGISTRY_PROTO_FILE} does not define ${REGISTRY_SERVICE_NAME}`);
    loaded = ctor as grpc.ServiceClientConstructor;
  }
  return loaded;
}

export function registryServiceDefinition(): grpc.ServiceDefinition {
  return registryClientConstructor().service;
}
