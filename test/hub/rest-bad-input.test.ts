import test, { type ExecutionContext } from 'ava';
import { registrySnapshot } from '../helpers/http-registry-snapshot.js';
import { call, startRestServer, type RestServer } from '../helpers/http-rest-server.js';

/**
 * Every bad input gets a clear 4xx naming the field, and changes nothing: the registry's
 * version and full contents are compared before and after each request.
 */

interface BadCase {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** The field the error must name (undefined: the error names none). */
  field: string | undefined;
}

/** A registry with one namespace, one service holding one live instance `a`, and one empty service. */
async function populated(t: ExecutionContext): Promise<RestServer> {
  const server = await startRestServer();
  t.teardown(() => server.close());
  server.registry.register({ id: 'a', service: 'echo', namespace: 'demo.local', address: '10.0.0.1', port: 8080 });
  server.registry.putService('demo.local', 'idle', {});
  return server;
}

async function expectRejected(t: ExecutionContext, server: RestServer, c: BadCase): Promise<void> {
  const label = `${c.method} ${c.path} ${typeof c.body === 'string' ? c.body.slice(0, 60) : (JSON.stringify(c.body) ?? '').slice(0, 60)}`;
  const before = registrySnapshot(server.registry);
  const r = await call(server, c.method, c.path, c.body, c.headers);
  t.is(r.status, c.status, `${label}: ${r.text}`);
  t.is(r.json?.error?.code, c.code, label);
  t.is(r.json?.error?.field, c.field, label);
  // Validation messages start from the field, so they read well without the JSON around them.
  if (c.field !== undefined && c.status === 400) t.true((r.json.error.message as string).includes(c.field), `${label}: the message names ${c.field}`);
  t.deepEqual(registrySnapshot(server.registry), before, `${label}: the registry is unchanged`);
}

const valid = { id: 'new', name: 'echo', namespace: 'demo.local', address: '10.0.0.2', port: 8080 };
const invalid = (field: string, body: Record<string, unknown>): BadCase => ({
  method: 'POST',
  path: '/api/v1/services',
  body,
  status: 400,
  code: 'invalid_argument',
  field,
});

test('registration: every invalid field is a 400 naming it', async (t) => {
  const server = await populated(t);
  const bigMetadata = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
  const heavyMetadata = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, 'x'.repeat(500)]));
  const cases: BadCase[] = [
    invalid('name', { ...valid, name: 'User_Service' }),
    invalid('name', { ...valid, name: 'a'.repeat(64) }),
    invalid('service', { ...valid, name: undefined, service: 'Bad Name' }),
    invalid('name', { ...valid, service: 'echo' }),
    invalid('name', { ...valid, name: undefined }),
    invalid('namespace', { ...valid, namespace: 'Demo_Local' }),
    invalid('id', { ...valid, id: '-starts-with-dash' }),
    invalid('address', { ...valid, address: 'not an address!' }),
    invalid('port', { ...valid, port: 0 }),
    invalid('port', { ...valid, port: 70000 }),
    invalid('port', { ...valid, port: '8080' }),
    invalid('port', { ...valid, port: 80.5 }),
    invalid('weight', { ...valid, weight: 0 }),
    invalid('weight', { ...valid, weight: 1001 }),
    invalid('protocol', { ...valid, protocol: 'ftp' }),
    invalid('metadata', { ...valid, metadata: bigMetadata }),
    invalid('metadata', { ...valid, metadata: heavyMetadata }),
    invalid('metadata.team', { ...valid, metadata: { team: 7 } }),
    invalid('ttl', { ...valid, ttl: '5 minutes' }),
    invalid('deregister_critical_after', { ...valid, deregister_critical_after: -1 }),
    invalid('health', { ...valid, health: 'sick' }),
    invalid('colour', { ...valid, colour: 'blue' }),
    invalid('health_check', { ...valid, health_check: { check_type: 'http', interval: 30, config: { type: 'http', path: '/health' } } }),
    invalid('source', { ...valid, source: 'static' }),
    { method: 'POST', path: '/api/v1/services', body: [valid], status: 400, code: 'invalid_argument', field: 'body' },
    { method: 'POST', path: '/api/v1/services', body: '', status: 400, code: 'invalid_argument', field: 'body' },
  ];
  for (const c of cases) await expectRejected(t, server, c);
});

test('registration: a bad ttl or deregister_critical_after says what is allowed; any zero ttl is no lease', async (t) => {
  const server = await populated(t);
  for (const ttl of ['500ms', -1, 'abc', 0.5, '25h', true]) {
    const c = invalid('ttl', { ...valid, ttl });
    await expectRejected(t, server, c);
    const r = await call(server, c.method, c.path, c.body);
    t.is(
      r.json.error.message,
      `ttl: must be 0 or "0s" (no lease), or a duration from 1s to 24h, as a number of seconds or a string such as "30s", got ${JSON.stringify(ttl)}`,
    );
  }
  for (const after of [-1, 'soon']) {
    const r = await call(server, 'POST', '/api/v1/services', { ...valid, deregister_critical_after: after });
    t.is(r.status, 400);
    t.regex(r.json.error.message, /^deregister_critical_after: must be a duration such as "500ms", "5s" or "1m" \(or a number of seconds\) from 0s to 720h/);
  }
  for (const [i, ttl] of [0, '0s', '0ms', '0.0m'].entries()) {
    const r = await call(server, 'POST', '/api/v1/services', { ...valid, id: `unleased-${i}`, ttl, deregister_critical_after: '0s' });
    t.is(r.status, 201, `ttl ${JSON.stringify(ttl)}: ${r.text}`);
    t.is(r.json.data.lease.ttl_ms, 0, `ttl ${JSON.stringify(ttl)} is no lease`);
    t.is(r.json.data.lease.deregister_critical_after_ms, 0);
  }
  const leased = await call(server, 'POST', '/api/v1/services', { ...valid, id: 'leased', ttl: '1s' });
  t.is(leased.json.data.lease.ttl_ms, 1000, 'the shortest lease');
});

test('query parameters: a dotted service_name that disagrees with namespace names both', async (t) => {
  const server = await populated(t);
  const r = await call(server, 'GET', '/api/v1/discover?service_name=users.shop.local&namespace=other.local');
  t.is(r.status, 400);
  t.is(r.json.error.field, 'namespace');
  t.is(r.json.error.message, 'namespace: other.local disagrees with service_name=users.shop.local, which names namespace shop.local; give one of them, or the same namespace in both');
  const bad = await call(server, 'GET', '/api/v1/services?service_name=users..local');
  t.is(bad.status, 400);
  t.regex(bad.json.error.message, /^service_name: must be a service name \(a DNS label\) or <service>\.<namespace> such as users\.shop\.local, got "users\.\.local"$/);
});

test('registration: the health_check block is refused with where checks live instead', async (t) => {
  const server = await populated(t);
  const r = await call(server, 'POST', '/api/v1/services', { ...valid, health_check: { check_type: 'http' } });
  t.regex(r.json.error.message, /sidecar/);
  t.regex(r.json.error.message, /heartbeat/);
});

test('bodies: malformed JSON names the position; non-JSON content types are 415', async (t) => {
  const server = await populated(t);
  const malformed = (body: string): BadCase => ({ method: 'POST', path: '/api/v1/services', body, status: 400, code: 'malformed_json', field: 'body' });
  const cases: BadCase[] = [
    malformed('{"name": "echo",'),
    malformed('{"name": "echo",}'),
    malformed("{'name': 'echo'}"),
    malformed('{"name": "echo"} trailing'),
    { method: 'POST', path: '/api/v1/services', body: JSON.stringify(valid), headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type', field: 'content-type' },
    { method: 'POST', path: '/api/v1/services', body: 'name=echo', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type', field: 'content-type' },
    { method: 'POST', path: '/api/v1/services', body: JSON.stringify(valid), headers: { 'content-type': 'application/json; charset=latin1' }, status: 415, code: 'unsupported_media_type', field: 'content-type' },
    { method: 'PUT', path: '/api/v1/services/a/health', body: '{"health": "DRAINING"}', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type', field: 'content-type' },
    { method: 'POST', path: '/api/v1/services', body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]), status: 400, code: 'malformed_json', field: 'body' },
  ];
  for (const c of cases) await expectRejected(t, server, c);

  const r = await call(server, 'POST', '/api/v1/services', '{\n  "name": "echo",\n  "port": 80,,\n}');
  t.is(r.json.error.message, 'body: malformed JSON at line 3, column 14 (position 33): expected a property name in double quotes (no trailing commas)');
  const charset = await call(server, 'POST', '/api/v1/services', JSON.stringify(valid), { 'content-type': 'Application/JSON; charset=UTF-8' });
  t.is(charset.status, 201, 'the JSON media type is matched case-insensitively, with a UTF-8 charset');
});

test('bodies: JSON nested deeper than 512 levels is a 400, wherever it sits (found by fuzzing: a 500 before)', async (t) => {
  const server = await populated(t);
  const deep = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const nested = (field: string, depth: number): string => JSON.stringify({ ...valid, [field]: 0 }).replace(`"${field}":0`, `"${field}":${deep(depth)}`);
  const tooDeep = (path: string, body: string, method = 'POST'): BadCase => ({ method, path, body, status: 400, code: 'invalid_argument', field: 'body' });
  for (const c of [
    tooDeep('/api/v1/services', nested('port', 100_000)),
    tooDeep('/api/v1/services', nested('metadata', 513)),
    tooDeep('/api/v1/services/a/health', `{"health":${deep(100_000)}}`, 'PUT'),
    tooDeep('/api/v1/namespaces/demo.local/services/echo', `{"lb_options":${deep(100_000)}}`, 'PUT'),
    tooDeep('/api/v1/namespaces', deep(600)),
  ]) {
    await expectRejected(t, server, c);
  }
  const r = await call(server, 'PUT', '/api/v1/services/a/health', `{"health":${deep(100_000)}}`);
  t.is(r.json.error.message, 'body: JSON nested more than 512 levels deep');
  // 512 levels are read, and get the field's own error.
  await expectRejected(t, server, invalid('port', JSON.parse(nested('port', 511)) as Record<string, unknown>));
});

test('bodies: over 1 MiB is a 413, declared or streamed; exactly 1 MiB is read', async (t) => {
  const server = await populated(t);
  const MiB = 1024 * 1024;
  const padded = (size: number) => {
    const json = JSON.stringify(valid);
    return json.slice(0, -1) + ' '.repeat(size - json.length) + '}';
  };
  await expectRejected(t, server, { method: 'POST', path: '/api/v1/services', body: padded(MiB + 1), status: 413, code: 'payload_too_large', field: 'body' });

  // No Content-Length: the hub stops keeping data at the limit and answers without waiting for the end.
  let sent = 0;
  const chunk = new TextEncoder().encode(' '.repeat(64 * 1024));
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"name": "echo",'));
    },
    pull(c) {
      if (sent >= 2 * MiB) return c.close();
      sent += chunk.length;
      c.enqueue(chunk);
    },
  });
  await expectRejected(t, server, { method: 'POST', path: '/api/v1/services', body: stream, status: 413, code: 'payload_too_large', field: 'body' });

  const exact = await call(server, 'POST', '/api/v1/services', padded(MiB));
  t.is(exact.status, 201, 'a body of exactly the limit is accepted');
});

test('instances: unknown ids are 404, bad ids and bodies are 400', async (t) => {
  const server = await populated(t);
  const cases: BadCase[] = [
    { method: 'GET', path: '/api/v1/services/nope', status: 404, code: 'not_found', field: 'id' },
    { method: 'DELETE', path: '/api/v1/services/nope', status: 404, code: 'not_found', field: 'id' },
    { method: 'POST', path: '/api/v1/services/nope/heartbeat', status: 404, code: 'not_found', field: 'id' },
    { method: 'PUT', path: '/api/v1/services/nope/health', body: { health: 'DRAINING' }, status: 404, code: 'not_found', field: 'id' },
    { method: 'GET', path: '/api/v1/services/%ZZ', status: 400, code: 'invalid_argument', field: 'id' },
    { method: 'GET', path: '/api/v1/services/bad%20id', status: 400, code: 'invalid_argument', field: 'id' },
    { method: 'DELETE', path: '/api/v1/services/-x', status: 400, code: 'invalid_argument', field: 'id' },
    { method: 'POST', path: '/api/v1/services/a/heartbeat', body: { status: 'sick' }, status: 400, code: 'invalid_argument', field: 'status' },
    { method: 'POST', path: '/api/v1/services/a/heartbeat', body: { service_id: 'b', status: 'healthy' }, status: 400, code: 'invalid_argument', field: 'service_id' },
    { method: 'POST', path: '/api/v1/services/a/heartbeat', body: { status: 'healthy', ttl: 5 }, status: 400, code: 'invalid_argument', field: 'ttl' },
    { method: 'POST', path: '/api/v1/services/a/heartbeat', body: '{"status": healthy}', status: 400, code: 'malformed_json', field: 'body' },
    { method: 'PUT', path: '/api/v1/services/a/health', body: {}, status: 400, code: 'invalid_argument', field: 'health' },
    { method: 'PUT', path: '/api/v1/services/a/health', body: { health: 'nope' }, status: 400, code: 'invalid_argument', field: 'health' },
    { method: 'PUT', path: '/api/v1/services/a/health', body: { health: 'DRAINING', status: 'x' }, status: 400, code: 'invalid_argument', field: 'status' },
    { method: 'PUT', path: '/api/v1/services/a/health', status: 400, code: 'invalid_argument', field: 'body' },
  ];
  for (const c of cases) await expectRejected(t, server, c);
});

test('query parameters: unknown, repeated, empty and out-of-range ones are 400 naming them', async (t) => {
  const server = await populated(t);
  const bad = (path: string, field: string): BadCase => ({ method: 'GET', path, status: 400, code: 'invalid_argument', field });
  const cases: BadCase[] = [
    bad('/api/v1/discover?service_name=echo&servce=x', 'servce'),
    bad('/api/v1/discover?service_name=Echo', 'service_name'),
    bad('/api/v1/discover?service_name=', 'service_name'),
    bad('/api/v1/discover?service_name=echo&service_name=other', 'service_name'),
    bad('/api/v1/discover?namespace=Demo_Local', 'namespace'),
    bad('/api/v1/discover?service_name=Echo.demo.local', 'service_name'),
    bad('/api/v1/discover?service_name=echo.Demo_Local', 'service_name'),
    bad('/api/v1/discover?service_name=.demo.local', 'service_name'),
    bad('/api/v1/discover?service_name=echo.', 'service_name'),
    bad('/api/v1/discover?service_name=echo.demo.local&namespace=other.local', 'namespace'),
    bad('/api/v1/services?service_name=echo.demo.local&namespace=other.local', 'namespace'),
    bad('/api/v1/discover?limit=0', 'limit'),
    bad('/api/v1/discover?limit=10001', 'limit'),
    bad('/api/v1/discover?limit=ten', 'limit'),
    bad('/api/v1/discover?limit=-1', 'limit'),
    bad('/api/v1/discover?healthy_only=maybe', 'healthy_only'),
    bad('/api/v1/discover?healthy_only=true&include_unhealthy=true', 'include_unhealthy'),
    bad('/api/v1/discover?metadata.bad%20key=x', 'metadata.bad key'),
    bad('/api/v1/discover?metadata.=x', 'metadata.'),
    bad('/api/v1/discover?load_balancing_strategy=round_robin', 'load_balancing_strategy'),
    bad('/api/v1/services?health=sick', 'health'),
    bad('/api/v1/services?service=echo', 'service'),
    bad('/api/v1/services/a?verbose=1', 'verbose'),
    bad('/api/v1/namespaces?limit=5', 'limit'),
    bad('/health?ready=perhaps', 'ready'),
  ];
  for (const c of cases) await expectRejected(t, server, c);
});

test('namespaces and service configs: bad names 400, unknown ones 404, conflicts 409', async (t) => {
  const server = await populated(t);
  const svc = '/api/v1/namespaces/demo.local/services';
  const cases: BadCase[] = [
    { method: 'POST', path: '/api/v1/namespaces', body: { name: 'Bad_NS' }, status: 400, code: 'invalid_argument', field: 'name' },
    { method: 'POST', path: '/api/v1/namespaces', body: { name: 'ok.local', colour: 'red' }, status: 400, code: 'invalid_argument', field: 'colour' },
    { method: 'POST', path: '/api/v1/namespaces', body: { description: 'no name' }, status: 400, code: 'invalid_argument', field: 'name' },
    { method: 'POST', path: '/api/v1/namespaces', body: { name: 'demo.local' }, status: 409, code: 'already_exists', field: 'name' },
    { method: 'GET', path: '/api/v1/namespaces/nowhere.local', status: 404, code: 'not_found', field: 'namespace' },
    { method: 'GET', path: '/api/v1/namespaces/Bad_NS', status: 400, code: 'invalid_argument', field: 'namespace' },
    { method: 'DELETE', path: '/api/v1/namespaces/nowhere.local', status: 404, code: 'not_found', field: 'namespace' },
    { method: 'DELETE', path: '/api/v1/namespaces/demo.local', status: 409, code: 'failed_precondition', field: 'namespace' },
    { method: 'GET', path: '/api/v1/namespaces/nowhere.local/services', status: 404, code: 'not_found', field: 'namespace' },
    { method: 'GET', path: `${svc}/nobody`, status: 404, code: 'not_found', field: 'service' },
    { method: 'GET', path: `${svc}/nobody/instances`, status: 404, code: 'not_found', field: 'service' },
    { method: 'GET', path: '/api/v1/namespaces/nowhere.local/services/echo/instances', status: 404, code: 'not_found', field: 'namespace' },
    { method: 'DELETE', path: `${svc}/nobody`, status: 404, code: 'not_found', field: 'service' },
    { method: 'DELETE', path: `${svc}/echo`, status: 409, code: 'failed_precondition', field: 'service' },
    { method: 'PUT', path: `${svc}/Bad_Svc`, body: {}, status: 400, code: 'invalid_argument', field: 'service' },
    { method: 'PUT', path: '/api/v1/namespaces/Bad_NS/services/echo', body: {}, status: 400, code: 'invalid_argument', field: 'namespace' },
    { method: 'PUT', path: `${svc}/echo`, body: { lb_policy: 'fastest' }, status: 400, code: 'invalid_argument', field: 'lb_policy' },
    { method: 'PUT', path: `${svc}/echo`, body: { timeout_ms: -1 }, status: 400, code: 'invalid_argument', field: 'timeout_ms' },
    { method: 'PUT', path: `${svc}/echo`, body: { circuit_breakers: { max_connections: 0 } }, status: 400, code: 'invalid_argument', field: 'circuit_breakers.max_connections' },
    { method: 'PUT', path: `${svc}/echo`, body: { retry: { retry_on: ['5xx', 'sometimes'] } }, status: 400, code: 'invalid_argument', field: 'retry.retry_on[1]' },
    { method: 'PUT', path: `${svc}/echo`, body: { lb_polcy: 'random' }, status: 400, code: 'invalid_argument', field: 'lb_polcy' },
    { method: 'PUT', path: `${svc}/fresh`, body: { lb_policy: 'fastest' }, status: 400, code: 'invalid_argument', field: 'lb_policy' },
    { method: 'PUT', path: '/api/v1/namespaces/new.local/services/fresh', body: '[]', status: 400, code: 'invalid_argument', field: 'body' },
  ];
  for (const c of cases) await expectRejected(t, server, c);
});

test('routes: unknown paths are 404, known paths with another method are 405 with Allow', async (t) => {
  const server = await populated(t);
  const cases: [string, string, string][] = [
    ['PATCH', '/api/v1/services', 'GET, HEAD, POST'],
    ['PUT', '/api/v1/services/a', 'DELETE, GET, HEAD'],
    ['GET', '/api/v1/services/a/heartbeat', 'POST'],
    ['POST', '/api/v1/services/a/health', 'PUT'],
    ['DELETE', '/api/v1/discover', 'GET, HEAD'],
    ['PUT', '/api/v1/namespaces', 'GET, HEAD, POST'],
    ['POST', '/api/v1/namespaces/demo.local', 'DELETE, GET, HEAD'],
    ['POST', '/api/v1/namespaces/demo.local/services/echo', 'DELETE, GET, HEAD, PUT'],
    ['DELETE', '/api/v1/namespaces/demo.local/services/echo/instances', 'GET, HEAD'],
    ['POST', '/health', 'GET, HEAD'],
    ['DELETE', '/metrics', 'GET, HEAD'],
  ];
  for (const [method, path, allow] of cases) {
    const before = registrySnapshot(server.registry);
    const r = await call(server, method, path, method === 'GET' || method === 'DELETE' ? undefined : {});
    t.is(r.status, 405, `${method} ${path}`);
    t.is(r.headers.get('allow'), allow, `${method} ${path}`);
    t.is(r.json.error.code, 'method_not_allowed');
    t.deepEqual(registrySnapshot(server.registry), before);
  }
  for (const path of ['/', '/api/v1', '/api/v2/services', '/api/v1/services/a/b/c', '/api/v1/namespaces/demo.local/things']) {
    const r = await call(server, 'GET', path);
    t.is(r.status, 404, path);
    t.is(r.json.error.code, 'not_found', path);
  }
});

test('bodies: the limit is configurable', async (t) => {
  const server = await startRestServer({ maxBodyBytes: 64 });
  t.teardown(() => server.close());
  const body = JSON.stringify({ ...valid, metadata: { note: 'x'.repeat(64) } });
  await expectRejected(t, server, { method: 'POST', path: '/api/v1/services', body, status: 413, code: 'payload_too_large', field: 'body' });
  const r = await call(server, 'POST', '/api/v1/services', body);
  t.regex(r.json.error.message, /limit of 64 bytes/);
  t.is((await call(server, 'GET', '/health')).status, 200, 'the server is still serving');
});

test('a service config whose lb_options do not fit its policy is refused with the field named', async (t) => {
  const server = await populated(t);
  const before = registrySnapshot(server.registry);
  const res = await call(server, 'PUT', '/api/v1/namespaces/demo.local/services/idle', { lb_policy: 'consistent_hash', lb_options: { hash_on: 'cookie' } });
  t.is(res.status, 400);
  t.is(res.json.error.field, 'lb_options.name');
  t.regex(res.json.error.message, /is required with hash_on: cookie/);
  t.deepEqual(registrySnapshot(server.registry), before);
});
