import test from 'ava';
import { OutriggerError } from '../../src/common/errors.js';
import type { WireStruct } from '../../src/wire/messages.js';
import { registryServiceDefinition } from '../../src/wire/registry-proto.js';
import { fromStruct, toStruct } from '../../src/wire/struct.js';

test('JSON survives a Struct round trip through the real protobuf encoding', (t) => {
  const json = { a: 1.5, b: 'x', c: true, d: null, e: [1, 'two', { f: false }], g: { h: { i: [] } } };
  const put = registryServiceDefinition().PutService!;
  const bytes = put.requestSerialize({ name: 's', config: toStruct(json) });
  const back = put.requestDeserialize(bytes) as { config: WireStruct };
  t.deepEqual(fromStruct(back.config, 'config'), json);
});

test('snake_case Value fields are read too', (t) => {
  t.deepEqual(fromStruct({ fields: { n: { number_value: 3 }, s: { string_value: 'x' }, l: { list_value: { values: [{ bool_value: true }] } } } }, 'config'), {
    n: 3,
    s: 'x',
    l: [true],
  });
});

test('a Struct nested too deeply is rejected naming the field, not recursed into', (t) => {
  let deep: WireStruct = { fields: {} };
  for (let i = 0; i < 100; i++) deep = { fields: { x: { structValue: deep } } };
  const err = t.throws(() => fromStruct(deep, 'config'), { instanceOf: OutriggerError });
  t.is(err?.code, 'invalid_argument');
  t.regex(err?.field ?? '', /^config\.x\.x/);
});
