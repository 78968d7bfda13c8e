import test from 'ava';
import { z } from 'zod';
import { createPolicyRegistry } from '../../src/balancers/builtin-policies.js';
import { PolicyRegistry } from '../../src/balancers/policy-registry.js';
import { RoundRobinPicker } from '../../src/balancers/round-robin.js';
import { OutriggerError } from '../../src/common/errors.js';
import { DEFAULT_SERVICE_CONFIG, LB_POLICIES } from '../../src/model/service-config.js';

test('every policy the service config accepts is registered', (t) => {
  t.deepEqual(createPolicyRegistry().names().sort(), [...LB_POLICIES].sort());
});

test('a service config selects its policy; the default is round_robin', (t) => {
  const registry = createPolicyRegistry();
  t.is(registry.parse(DEFAULT_SERVICE_CONFIG).name, 'round_robin');
  t.is(registry.parse(undefined).name, 'round_robin');
  t.is(registry.parse({ lb_policy: 'peak_ewma', lb_options: {} }).name, 'peak_ewma');
});

test('options get their defaults at parse time', (t) => {
  const registry = createPolicyRegistry();
  t.deepEqual(registry.parse({ lb_policy: 'least_request' }).options, { choice_count: 2, active_request_bias: 1 });
  t.deepEqual(registry.parse({ lb_policy: 'peak_ewma' }).options, { decay_time_ms: 10_000, default_rtt_ms: 30 });
  t.deepEqual(registry.parse({ lb_policy: 'consistent_hash', lb_options: { hash_on: 'header', name: 'X-User-ID' } }).options, {
    hash_on: 'header',
    name: 'x-user-id',
    minimum_ring_size: 1024,
    maximum_ring_size: 8_388_608,
  });
  t.is(registry.parse({ lb_policy: 'peak_ewma' }).ewmaDecayMs, 10_000);
});

const BAD: [unknown, string, RegExp?][] = [
  [{ lb_policy: 'fastest' }, 'lb_policy', /unknown load-balancing policy "fastest"; expected one of round_robin/],
  [{ lb_policy: 7 }, 'lb_policy'],
  [{ lb_policy: 'least_request', lb_options: { choice_count: 1 } }, 'lb_options.choice_count', /integer from 2 to 100, got 1/],
  [{ lb_policy: 'least_request', lb_options: { choice_count: 2.5 } }, 'lb_options.choice_count'],
  [{ lb_policy: 'least_request', lb_options: { choice_count: '3' } }, 'lb_options.choice_count'],
  [{ lb_policy: 'least_request', lb_options: { active_request_bias: -1 } }, 'lb_options.active_request_bias'],
  [{ lb_policy: 'least_request', lb_options: { choices: 3 } }, 'lb_options.choices', /unknown key/],
  [{ lb_policy: 'round_robin', lb_options: { choice_count: 3 } }, 'lb_options.choice_count', /unknown key/],
  [{ lb_policy: 'consistent_hash' }, 'lb_options.hash_on', /header, cookie, source_ip, query_parameter/],
  [{ lb_policy: 'consistent_hash', lb_options: { hash_on: 'body' } }, 'lb_options.hash_on'],
  [{ lb_policy: 'consistent_hash', lb_options: { hash_on: 'cookie' } }, 'lb_options.name', /required with hash_on: cookie/],
  [{ lb_policy: 'consistent_hash', lb_options: { hash_on: 'source_ip', name: 'x' } }, 'lb_options.name', /not used/],
  [{ lb_policy: 'consistent_hash', lb_options: { hash_on: 'header', name: '' } }, 'lb_options.name'],
  [{ lb_policy: 'consistent_hash', lb_options: { hash_on: 'source_ip', minimum_ring_size: 0 } }, 'lb_options.minimum_ring_size'],
  [{ lb_policy: 'consistent_hash', lb_options: { hash_on: 'source_ip', maximum_ring_size: 10_000_000 } }, 'lb_options.maximum_ring_size'],
  [{ lb_policy: 'consistent_hash', lb_options: { hash_on: 'source_ip', minimum_ring_size: 4096, maximum_ring_size: 1024 } }, 'lb_options.minimum_ring_size', /must not exceed maximum_ring_size/],
  [{ lb_policy: 'peak_ewma', lb_options: { decay_time_ms: 0 } }, 'lb_options.decay_time_ms'],
  [{ lb_policy: 'peak_ewma', lb_options: { default_rtt_ms: -5 } }, 'lb_options.default_rtt_ms'],
  [{ lb_policy: 'weighted', lb_options: 'fast' }, 'lb_options'],
  ['round_robin', 'lb_policy', /must be an object/],
];

for (const [input, field, message] of BAD) {
  test(`rejects ${JSON.stringify(input)} naming ${field}`, (t) => {
    const err = t.throws(() => createPolicyRegistry().parse(input), { instanceOf: OutriggerError });
    t.is(err.code, 'config_invalid');
    t.is(err.field, field);
    t.true(err.message.startsWith(`${field}: `), err.message);
    if (message !== undefined) t.regex(err.message, message);
  });
}

test('fields are named from where the selection sits in a larger document', (t) => {
  const err = t.throws(() => createPolicyRegistry().parse({ lb_policy: 'least_request', lb_options: { choice_count: 0 } }, 'clusters[2]'), {
    instanceOf: OutriggerError,
  });
  t.is(err.field, 'clusters[2].lb_options.choice_count');
});

test('registries are instances: a policy added to one is not in another', (t) => {
  const mine = createPolicyRegistry();
  const other = createPolicyRegistry();
  mine.register({
    name: 'first',
    description: 'always the first endpoint',
    options: z.strictObject({}),
    create: (options) => ({ name: 'first', options, buildPicker: (eps) => new RoundRobinPicker(eps, 0) }),
  });
  t.true(mine.has('first'));
  t.false(other.has('first'));
  t.is(mine.parse({ lb_policy: 'first' }).name, 'first');
  t.throws(() => other.parse({ lb_policy: 'first' }), { message: /unknown load-balancing policy "first"/ });
  t.throws(() => mine.register({ name: 'first', description: '', options: z.strictObject({}), create: () => mine.parse({}) }), {
    message: /already registered/,
  });
  t.deepEqual(new PolicyRegistry().names(), []);
});
