import test from 'ava';
import { OutriggerError } from '../../src/common/errors.js';
import { hubConfigSchema } from '../../src/config/hub-config.js';
import { describeOptions, loadConfig } from '../../src/config/layered-config.js';

const files: Record<string, string> = {
  'hub.yaml': 'grpc_port: 16010\nhttp_port: 16080\nself_preservation:\n  max_expiring_share: 0.3\nxds:\n  coalesce: 50ms\n',
  'bad.yaml': 'grpc_port: [1\n',
  'list.yaml': '- a\n- b\n',
  'badvalue.yaml': 'http_port: 99999\n',
};
const readFile = (p: string): string => {
  const text = files[p];
  if (text === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
  return text;
};
const load = (args: string[], env: Record<string, string> = {}) => loadConfig(hubConfigSchema, { args, env, readFile });

test('defaults work with no config at all', (t) => {
  const { config } = load([]);
  t.is(config.grpc_port, 15010);
  t.is(config.http_port, 15080);
  t.is(config.default_namespace, 'default');
  t.is(config.sweep_interval, 1000);
  t.true(config.self_preservation.enabled);
  t.is(config.self_preservation.renewal_threshold, 0.85);
  t.is(config.self_preservation.window, 15_000);
});

test('file, then environment, then flags: a later layer wins', (t) => {
  t.is(load(['-c', 'hub.yaml']).config.grpc_port, 16010);
  t.is(load(['-c', 'hub.yaml'], { OUTRIGGER_GRPC_PORT: '17010' }).config.grpc_port, 17010);
  t.is(load(['-c', 'hub.yaml', '--grpc-port', '18010'], { OUTRIGGER_GRPC_PORT: '17010' }).config.grpc_port, 18010);
  const { config } = load([], { OUTRIGGER_CONFIG: 'hub.yaml', OUTRIGGER_SELF_PRESERVATION__ENABLED: 'false' });
  t.is(config.http_port, 16080, 'OUTRIGGER_CONFIG names the file');
  t.false(config.self_preservation.enabled);
  t.is(config.self_preservation.max_expiring_share, 0.3, 'nested keys from different layers merge');
  t.is(config.xds.coalesce, 50);
});

test('durations accept units and bare seconds', (t) => {
  t.is(load(['--sweep-interval', '2s']).config.sweep_interval, 2000);
  t.is(load(['--sweep-interval=250ms']).config.sweep_interval, 250);
  t.is(load([], { OUTRIGGER_SWEEP_INTERVAL: '3' }).config.sweep_interval, 3000);
});

const invalid: Array<[string, () => unknown, RegExp]> = [
  ['a port out of range from a flag', () => load(['--grpc-port', '70000']), /^grpc_port: must be an integer from 0 to 65535.*got 70000 \(from flag --grpc-port\)$/],
  ['a port that is not a number from the environment', () => load([], { OUTRIGGER_HTTP_PORT: 'eighty' }), /^http_port: .*got "eighty" \(from environment variable OUTRIGGER_HTTP_PORT\)$/],
  ['a bad value in the file', () => load(['-c', 'badvalue.yaml']), /^http_port: .*got 99999 \(from config file badvalue.yaml\)$/],
  ['an unknown log level', () => load(['--log-level', 'loud']), /^log_level: must be one of debug, info, warn, error, silent, got "loud"/],
  ['a share above 1', () => load(['--self-preservation.max-expiring-share', '2']), /^self_preservation.max_expiring_share: must be a number from 0 to 1, got 2/],
  ['a renewal threshold above 1', () => load(['--self-preservation.renewal-threshold', '1.5']), /^self_preservation.renewal_threshold: must be a number from 0 to 1, got 1.5/],
  ['a malformed duration', () => load(['--sweep-interval', 'soon']), /^sweep_interval: must be a duration/],
  ['an unknown flag', () => load(['--grpc-prot', '1']), /Unknown option '--grpc-prot'/],
  ['an unknown key in the file', () => loadConfig(hubConfigSchema, { args: ['-c', 'x.yaml'], env: {}, readFile: () => 'grpc_prot: 1\n' }), /^grpc_prot: unknown key/],
  ['a file that is not YAML', () => load(['-c', 'bad.yaml']), /config file bad.yaml is not valid YAML/],
  ['a file that is a list', () => load(['-c', 'list.yaml']), /must hold a mapping/],
  ['a missing file', () => load(['-c', 'nope.yaml']), /config file nope.yaml cannot be read: ENOENT/],
];

for (const [what, run, message] of invalid) {
  test(`config refuses ${what} with a message naming the key`, (t) => {
    const err = t.throws(run, { instanceOf: OutriggerError });
    t.is(err.code, 'config_invalid');
    t.regex(err.message, message);
  });
}

test('every option has a flag, an environment variable and a description', (t) => {
  const options = describeOptions(hubConfigSchema);
  t.true(options.length > 10);
  for (const o of options) {
    t.regex(o.flag, /^--[a-z0-9.-]+$/);
    t.regex(o.env, /^OUTRIGGER_[A-Z0-9_]+$/);
    t.not(o.description, '', `${o.key} has a description`);
  }
  t.truthy(options.find((o) => o.key === 'self_preservation.enabled' && o.env === 'OUTRIGGER_SELF_PRESERVATION__ENABLED'));
});
