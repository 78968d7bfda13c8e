// @ts-check
/**
 * Writes the protobufjs JSON descriptor of the Envoy types a sidecar's ADS client codes
 * (dist/src/xds/envoy-ads-client.json) from the .proto files @grpc/grpc-js-xds ships. `npm run
 * build` runs it after tsc, so the descriptor always matches the installed package and nothing
 * derived from Envoy's files is kept in the repository.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const { CLIENT_DESCRIPTOR_FILE, envoyClientDescriptor } = await import('../../dist/src/xds/envoy-protos.js');
mkdirSync(path.dirname(CLIENT_DESCRIPTOR_FILE), { recursive: true });
writeFileSync(CLIENT_DESCRIPTOR_FILE, envoyClientDescriptor());
