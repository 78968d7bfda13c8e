// @ts-check
/**
 * Writes the protobufjs JSON descriptor of the Envoy types a sidecar's ADS client codes
 * (proto/generated/envoy-ads-client.json) from the .proto files @grpc/grpc-js-xds ships. Run it
 * after a build whenever that package changes; test/xds/envoy-descriptor.test.ts fails until then.
 *
 *   npm run build --silent && node src/cli/write-envoy-descriptor.mjs
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const { CLIENT_DESCRIPTOR_FILE, envoyClientDescriptor } = await import('../../dist/src/xds/envoy-protos.js');
mkdirSync(path.dirname(CLIENT_DESCRIPTOR_FILE), { recursive: true });
writeFileSync(CLIENT_DESCRIPTOR_FILE, envoyClientDescriptor());
process.stdout.write(`wrote ${path.relative(process.cwd(), CLIENT_DESCRIPTOR_FILE)}\n`);
