import test from 'ava';
import { OutriggerError } from '../../src/common/errors.js';
import { parseHealthCheck } from '../../src/health/check-config.js';

test('http defaults: GET /, 200-399, rise 2, fall 3, starts unknown', (t) => {
  const c = parseHealthCheck({ type: 'http' });
  t.like(c, {
    type: 'http',
    scheme: 'http',
    method: 'GET',
    path: '/',
    headers: {},
    expectedStatuses: [{ min: 200, max: 399 }],
    tlsSkipVerify: false,
    intervalMs: 10_000,
    timeoutMs: 5_000,
    jitter: 0,
    rise: 2,
    fall: 3,
    initialStatus: 'unknown',
  });
});

test('http: every field as users write it in YAML', (t) => {
  const c = parseHealthCheck({
    type: 'http',
    scheme: 'https',
    path: '/healthz?full=1',
    port: 8443,
    address: '10.0.0.7',
    interval: '5s',
    timeout: 0.5,
    rise: 1,
    fall: 2,
    jitter: '10%',
    expected_statuses: ['200-299', 304, '4xx'],
    headers: { 'X-Probe': 'outrigger' },
    host: 'api.internal:8443',
    method: 'head',
    tls_skip_verify: true,
    initial_status: 'healthy',
  });
  t.deepEqual(c, {
    type: 'http',
    scheme: 'https',
    method: 'HEAD',
    path: '/healthz?full=1',
    address: '10.0.0.7',
    port: 8443,
    host: 'api.internal:8443',
    headers: { 'X-Probe': 'outrigger' },
    expectedStatuses: [
      { min: 200, max: 299 },
      { min: 304, max: 304 },
      { min: 400, max: 499 },
    ],
    tlsSkipVerify: true,
    intervalMs: 5000,
    timeoutMs: 500,
    jitter: 0.1,
    rise: 1,
    fall: 2,
    initialStatus: 'healthy',
  });
});

test('durations: seconds as numbers, or strings with ms/s/m/h', (t) => {
  const ms = (v: unknown): number => (parseHealthCheck({ type: 'tcp', interval: v }) as { intervalMs: number }).intervalMs;
  t.is(ms(1.5), 1500);
  t.is(ms('500ms'), 500);
  t.is(ms('5s'), 5000);
  t.is(ms('1.5s'), 1500);
  t.is(ms('1m'), 60_000);
  t.is(ms('1h'), 3_600_000);
});

test('tcp, grpc, exec and ttl parse with their own fields', (t) => {
  t.like(parseHealthCheck({ type: 'tcp', send: 'PING\r\n', expect: '+PONG' }), { type: 'tcp', send: 'PING\r\n', expect: '+PONG' });
  const re = parseHealthCheck({ type: 'tcp', expect_regex: '^\\+PONG' });
  t.true(re.type === 'tcp' && re.expect instanceof RegExp && re.expect.test('+PONG\r\n'));
  t.like(parseHealthCheck({ type: 'grpc' }), { type: 'grpc', service: '' });
  t.like(parseHealthCheck({ type: 'grpc', service: 'shop.Cart' }), { type: 'grpc', service: 'shop.Cart' });
  t.like(parseHealthCheck({ type: 'exec', command: ['/bin/check', '--quick'] }), { type: 'exec', command: ['/bin/check', '--quick'], shell: false });
  // The app's own report decides at once unless thresholds are asked for.
  t.deepEqual(parseHealthCheck({ type: 'ttl', ttl: '30s' }), { type: 'ttl', ttlMs: 30_000, rise: 1, fall: 1, initialStatus: 'unknown' });
});

/** [what, input, field named, words the message must contain] */
const BAD: Array<[string, unknown, string, string[]]> = [
  ['not a mapping', 'http', 'health_check', ['mapping', '"http"']],
  ['unknown type', { type: 'htp' }, 'health_check.type', ['one of http, tcp, grpc, exec, ttl', '"htp"']],
  ['missing type', { path: '/' }, 'health_check.type', ['one of http', 'nothing']],
  ['rise 0', { type: 'http', rise: 0 }, 'health_check.rise', ['at least 1', 'got 0']],
  ['fractional fall', { type: 'tcp', fall: 1.5 }, 'health_check.fall', ['integer', 'got 1.5']],
  ['rise as text', { type: 'tcp', rise: 'two' }, 'health_check.rise', ['must be a number', '"two"']],
  ['bad duration unit', { type: 'http', interval: '5 parsecs' }, 'health_check.interval', ['"500ms", "5s", "1m"', '"5 parsecs"']],
  ['zero timeout', { type: 'http', timeout: 0 }, 'health_check.timeout', ['at least 1ms', 'got 0']],
  ['negative interval', { type: 'grpc', interval: -5 }, 'health_check.interval', ['duration', 'got -5']],
  ['jitter above 1', { type: 'tcp', jitter: 2 }, 'health_check.jitter', ['between 0 and 1', 'got 2']],
  ['misspelt field', { type: 'http', intreval: '5s' }, 'health_check.intreval', ['unknown key "intreval"', 'interval']],
  ['bad status range', { type: 'http', expected_statuses: ['200-399', '300-200'] }, 'health_check.expected_statuses[1]', ['"200-399"', '"300-200"']],
  ['status out of range', { type: 'http', expected_statuses: [700] }, 'health_check.expected_statuses[0]', ['100–599', 'got 700']],
  ['empty status list', { type: 'http', expected_statuses: [] }, 'health_check.expected_statuses', ['at least 1 item', 'got []']],
  ['unknown method', { type: 'http', method: 'FETCH' }, 'health_check.method', ['GET, HEAD, POST', '"FETCH"']],
  ['relative path', { type: 'http', path: 'healthz' }, 'health_check.path', ['start with "/"', '"healthz"']],
  ['bad header name', { type: 'http', headers: { 'Bad Name': 'x' } }, 'health_check.headers.Bad Name', ['header name', '"Bad Name"']],
  ['header value with newline', { type: 'http', headers: { 'X-A': 'a\r\nb' } }, 'health_check.headers.X-A', ['CR, LF', '"a\\r\\nb"']],
  ['Host in headers', { type: 'http', headers: { Host: 'x' } }, 'health_check.headers.Host', ['`host` field']],
  ['port too big', { type: 'tcp', port: 70000 }, 'health_check.port', ['at most 65535', 'got 70000']],
  ['port as text', { type: 'grpc', port: '80' }, 'health_check.port', ['must be a number', '"80"']],
  ['tls_skip_verify as text', { type: 'http', tls_skip_verify: 'yes' }, 'health_check.tls_skip_verify', ['true or false', '"yes"']],
  ['bad initial status', { type: 'http', initial_status: 'passing' }, 'health_check.initial_status', ['healthy, unknown', '"passing"']],
  ['invalid regex', { type: 'tcp', expect_regex: '(' }, 'health_check.expect_regex', ['regular expression', '"("']],
  ['expect and expect_regex', { type: 'tcp', expect: 'a', expect_regex: 'b' }, 'health_check.expect_regex', ['cannot be combined with `expect`']],
  ['missing command', { type: 'exec' }, 'health_check.command', ['is required', 'list']],
  ['empty command', { type: 'exec', command: [] }, 'health_check.command', ['at least 1 item']],
  ['blank program', { type: 'exec', command: [' '] }, 'health_check.command[0]', ['name the program']],
  ['command as a string', { type: 'exec', command: 'check.sh' }, 'health_check.command', ['list', '"check.sh"']],
  ['missing ttl', { type: 'ttl' }, 'health_check.ttl', ['is required', 'duration']],
  ['interval on a ttl check', { type: 'ttl', ttl: '10s', interval: '5s' }, 'health_check.interval', ['unknown key', 'ttl']],
];

for (const [what, input, field, words] of BAD) {
  test(`config error names the field: ${what}`, (t) => {
    const err = t.throws(() => parseHealthCheck(input), { instanceOf: OutriggerError });
    t.is(err.code, 'config_invalid');
    t.is(err.field, field);
    t.true(err.message.startsWith(`${field}:`), err.message);
    for (const w of words) t.true(err.message.includes(w), `"${err.message}" should mention ${w}`);
  });
}

test('config error: the prefix names where the check sits in the whole document', (t) => {
  const err = t.throws(() => parseHealthCheck({ type: 'http', fall: 0 }, 'app.health_check'), { instanceOf: OutriggerError });
  t.is(err.field, 'app.health_check.fall');
});

test('config error: every problem is listed, the first one is the field', (t) => {
  const err = t.throws(() => parseHealthCheck({ type: 'http', rise: 0, fall: 0 }), { instanceOf: OutriggerError });
  t.is(err.field, 'health_check.rise');
  t.true(err.message.includes('health_check.fall'));
});
