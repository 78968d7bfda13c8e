import { readFileSync } from 'node:fs';
import test from 'ava';
import { CLIENT_DESCRIPTOR_FILE, CLIENT_TYPES, envoyClientDescriptor, messageType } from '../../src/xds/envoy-protos.js';

test('the build writes the descriptor of the ADS client types as the installed .proto files give it', (t) => {
  t.is(readFileSync(CLIENT_DESCRIPTOR_FILE, 'utf8'), envoyClientDescriptor());
});

test('every ADS client type is found in the descriptor', (t) => {
  for (const name of CLIENT_TYPES) t.is(messageType(name).fullName, `.${name}`);
});
