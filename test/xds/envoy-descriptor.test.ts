import { readFileSync } from 'node:fs';
import test from 'ava';
import { CLIENT_DESCRIPTOR_FILE, CLIENT_TYPES, envoyClientDescriptor, messageType } from '../../src/xds/envoy-protos.js';

test('the checked-in descriptor of the ADS client types is what the shipped .proto files give (regenerate: node src/cli/write-envoy-descriptor.mjs)', (t) => {
  t.is(readFileSync(CLIENT_DESCRIPTOR_FILE, 'utf8'), envoyClientDescriptor());
});

test('every ADS client type is found in the descriptor', (t) => {
  for (const name of CLIENT_TYPES) t.is(messageType(name).fullName, `.${name}`);
});
