import test from 'ava';
import type { Instance, Service } from '../../src/registry/model.js';
import { decodeAny, messageType } from '../../src/xds/envoy-protos.js';
import { CLUSTER_MESSAGE, encodeCluster } from '../../src/xds/resources/cluster-encode.js';
import { buildClusterLoadAssignment, encodeClusterLoadAssignment } from '../../src/xds/resources/endpoints-encode.js';
import { encodeListener } from '../../src/xds/resources/listener-encode.js';
import { readOutriggerMetadata } from '../../src/xds/resources/outrigger-metadata.js';
import { encodeRouteConfiguration } from '../../src/xds/resources/route-encode.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../src/xds/type-urls.js';
import { newRegistry } from '../helpers/registry.js';

type Obj = Record<string, any>;

/** Decodes the bytes of an encoded Any (what the cache holds) into its inner message. */
function decodeEncodedAny(bytes: Buffer): { type_url: string; message: Obj } {
  const any = messageType('google.protobuf.Any').decode(bytes) as unknown as { type_url: string; value: Uint8Array };
  return { type_url: any.type_url, message: decodeAny(any) as Obj };
}

function service(config?: unknown): Service {
  const r = newRegistry();
  return r.putService('demo.local', 'api', config);
}

function instances(specs: Array<Record<string, unknown>>): Instance[] {
  const r = newRegistry();
  for (const s of specs) r.register({ service: 'api', namespace: 'demo.local', ttl: 0, port: 8080, address: '10.0.0.1', ...s });
  return r.instancesOf('demo.local', 'api');
}

test('a cluster is an EDS cluster over ADS named <service>.<namespace>', (t) => {
  const { type_url, message: c } = decodeEncodedAny(encodeCluster(service()));
  t.is(type_url, CLUSTER_TYPE_URL);
  t.is(c['name'], 'api.demo.local');
  t.is(c['type'], 'EDS');
  t.deepEqual(c['eds_cluster_config']['eds_config']['ads'], {});
  t.is(c['lb_policy'], 'ROUND_ROBIN');
  t.is(c['load_balancing_policy'], undefined);
});

test('circuit breakers, outlier detection and panic threshold go into Envoy fields', (t) => {
  const svc = service({
    circuit_breakers: { max_connections: 10, max_pending_requests: 20, max_requests: 30, max_retries: 4 },
    outlier_detection: {
      consecutive_5xx: 7,
      consecutive_gateway_failure: 3,
      interval_ms: 1500,
      base_ejection_time_ms: 20_000,
      max_ejection_time_ms: 120_000,
      max_ejection_percent: 40,
      success_rate: { minimum_hosts: 4, request_volume: 50, stdev_factor: 1.5 },
    },
    panic_threshold_percent: 30,
  });
  const c = decodeEncodedAny(encodeCluster(svc)).message;
  const th = c['circuit_breakers']['thresholds'][0];
  t.is(th['priority'], 'DEFAULT');
  t.is(th['max_connections']['value'], 10);
  t.is(th['max_pending_requests']['value'], 20);
  t.is(th['max_requests']['value'], 30);
  t.is(th['max_retries']['value'], 4);
  const od = c['outlier_detection'];
  t.is(od['consecutive_5xx']['value'], 7);
  t.is(od['consecutive_gateway_failure']['value'], 3);
  t.is(od['enforcing_consecutive_gateway_failure']['value'], 100);
  t.deepEqual(od['interval'], { seconds: '1', nanos: 500_000_000 });
  t.deepEqual(od['base_ejection_time'], { seconds: '20', nanos: 0 });
  t.deepEqual(od['max_ejection_time'], { seconds: '120', nanos: 0 });
  t.is(od['max_ejection_percent']['value'], 40);
  t.is(od['enforcing_success_rate']['value'], 100);
  t.is(od['success_rate_minimum_hosts']['value'], 4);
  t.is(od['success_rate_request_volume']['value'], 50);
  t.is(od['success_rate_stdev_factor']['value'], 1500);
  t.is(c['common_lb_config']['healthy_panic_threshold']['value'], 30);
});

test('success-rate ejection is switched off unless configured, and disabled detection is left out', (t) => {
  const on = decodeEncodedAny(encodeCluster(service())).message;
  t.is(on['outlier_detection']['enforcing_success_rate']['value'], 0, 'an explicit 0');
  const off = decodeEncodedAny(encodeCluster(service({ outlier_detection: { enabled: false } }))).message;
  t.is(off['outlier_detection'], undefined);
});

test('the exact Outrigger config rides in cluster metadata for our sidecar', (t) => {
  const svc = service({ lb_policy: 'peak_ewma', lb_options: { decay_time_ms: 5000, default_rtt_ms: 12.5 } });
  const c = decodeEncodedAny(encodeCluster(svc)).message;
  const meta = readOutriggerMetadata(c['metadata']);
  t.truthy(meta);
  t.is(meta!['service'], 'api');
  t.is(meta!['namespace'], 'demo.local');
  const config = meta!['config'] as Obj;
  t.is(config['lb_policy'], 'peak_ewma');
  t.deepEqual(config['lb_options'], { decay_time_ms: 5000, default_rtt_ms: 12.5 });
  t.deepEqual(config, JSON.parse(JSON.stringify(svc.config)));
});

const policyNames = (c: Obj): string[] =>
  (c['load_balancing_policy']?.['policies'] ?? []).map((p: Obj) => p['typed_extension_config']['typed_config']['type_url'] as string);

test('policies grpc-js lacks are offered through load_balancing_policy with round_robin last', (t) => {
  const rr = 'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin';
  const lr = 'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest';
  const random = 'type.googleapis.com/envoy.extensions.load_balancing_policies.random.v3.Random';
  const cases: Array<[string, string[]]> = [
    ['least_request', [lr, rr]],
    ['least_connections', [lr, rr]],
    ['peak_ewma', [lr, rr]],
    ['random', [random, rr]],
  ];
  for (const [policy, expected] of cases) {
    const c = decodeEncodedAny(encodeCluster(service({ lb_policy: policy }))).message;
    t.deepEqual(policyNames(c), expected, policy);
    t.is(c['lb_policy'], undefined, `${policy}: lb_policy is left at its ROUND_ROBIN default for pre-A52 clients`);
  }
  const lc = decodeEncodedAny(encodeCluster(service({ lb_policy: 'least_connections' }))).message;
  const inner = decodeAny(lc['load_balancing_policy']['policies'][0]['typed_extension_config']['typed_config']);
  t.is(inner['selection_method'], 'FULL_SCAN');
  const lr3 = decodeEncodedAny(encodeCluster(service({ lb_policy: 'least_request', lb_options: { choice_count: 3, active_request_bias: 0.5 } }))).message;
  const lrConfig = decodeAny(lr3['load_balancing_policy']['policies'][0]['typed_extension_config']['typed_config']) as Obj;
  t.is(lrConfig['choice_count']['value'], 3);
  t.is(lrConfig['active_request_bias']['default_value'], 0.5);
});

test('round_robin and weighted use lb_policy ROUND_ROBIN; consistent_hash uses RING_HASH with xxHash', (t) => {
  for (const policy of ['round_robin', 'weighted']) {
    const c = decodeEncodedAny(encodeCluster(service({ lb_policy: policy }))).message;
    t.is(c['lb_policy'], 'ROUND_ROBIN', policy);
    t.deepEqual(policyNames(c), [], policy);
  }
  const c = decodeEncodedAny(encodeCluster(service({ lb_policy: 'consistent_hash', lb_options: { hash_on: 'source_ip', minimum_ring_size: 64, maximum_ring_size: 4096 } }))).message;
  t.is(c['lb_policy'], 'RING_HASH');
  t.is(c['ring_hash_lb_config']['hash_function'], 'XX_HASH');
  t.is(c['ring_hash_lb_config']['minimum_ring_size']['value'], '64');
  t.is(c['ring_hash_lb_config']['maximum_ring_size']['value'], '4096');
});

test('endpoints are grouped by locality, weighted, with health and metadata', (t) => {
  const list = instances([
    { id: 'a', address: '10.0.0.1', zone: 'z1', region: 'r1', weight: 10, version: 'v1', protocol: 'grpc', metadata: { team: 'x' } },
    { id: 'b', address: '10.0.0.2', zone: 'z1', region: 'r1', weight: 30, health: 'UNHEALTHY' },
    { id: 'c', address: '10.0.0.3', zone: 'z2', region: 'r1', weight: 5, health: 'DRAINING' },
    { id: 'd', address: '10.0.0.4', weight: 7, health: 'UNKNOWN' },
  ]);
  const { type_url, message: cla } = decodeEncodedAny(encodeClusterLoadAssignment('api.demo.local', list));
  t.is(type_url, ENDPOINT_TYPE_URL);
  t.is(cla['cluster_name'], 'api.demo.local');
  const eps = cla['endpoints'] as Obj[];
  t.deepEqual(
    eps.map((e) => [e['locality'], e['load_balancing_weight']['value'], e['priority']]),
    [
      [{ region: '', zone: '' }, 7, 0],
      [{ region: 'r1', zone: 'z1' }, 10, 0],
      [{ region: 'r1', zone: 'z2' }, 1, 0],
    ],
    'every locality entry has a locality and a weight ≥ 1 (usable endpoints only), at priority 0',
  );
  t.truthy(eps[0]!['locality'], 'the empty locality is still present');
  const byId = new Map<string, Obj>();
  for (const e of eps) for (const lb of e['lb_endpoints'] as Obj[]) byId.set(readOutriggerMetadata(lb['metadata'])!['id'] as string, lb);
  t.deepEqual([...byId.keys()].sort(), ['a', 'b', 'c', 'd']);
  t.is(byId.get('a')!['health_status'], 'HEALTHY');
  t.is(byId.get('b')!['health_status'], 'UNHEALTHY');
  t.is(byId.get('c')!['health_status'], 'DRAINING');
  t.is(byId.get('d')!['health_status'], 'UNKNOWN');
  t.is(byId.get('a')!['load_balancing_weight']['value'], 10);
  t.deepEqual(byId.get('a')!['endpoint']['address']['socket_address'], { protocol: 'TCP', address: '10.0.0.1', port_value: 8080, port_specifier: 'port_value' });
  t.deepEqual(readOutriggerMetadata(byId.get('a')!['metadata']), { id: 'a', version: 'v1', protocol: 'grpc', metadata: { team: 'x' } });
});

test('one address:port is never listed twice: the healthiest instance wins', (t) => {
  const list = instances([
    { id: 'old', address: '10.0.0.9', port: 9000, health: 'UNHEALTHY' },
    { id: 'new', address: '10.0.0.9', port: 9000, health: 'HEALTHY' },
    { id: 'other-port', address: '10.0.0.9', port: 9001, health: 'UNKNOWN' },
    { id: 'v6-a', address: '::1', port: 9000, health: 'DRAINING' },
    { id: 'v6-b', address: '::1', port: 9000, health: 'UNKNOWN' },
  ]);
  const cla = buildClusterLoadAssignment('api.demo.local', list);
  const seen = cla.endpoints.flatMap((e) => e.lb_endpoints).map((lb) => `${lb.endpoint.address.socket_address.address}:${lb.endpoint.address.socket_address.port_value}`);
  t.deepEqual([...seen].sort(), ['10.0.0.9:9000', '10.0.0.9:9001', '::1:9000']);
  const ids = cla.endpoints.flatMap((e) => e.lb_endpoints).map((lb) => lb.endpoint.address.socket_address.address + lb.health_status);
  t.true(ids.includes('10.0.0.9HEALTHY'));
  t.true(ids.includes('::1UNKNOWN'));
});

test('hostname instances are left out and reported; a service with no endpoints gets an empty assignment', (t) => {
  const skipped: string[] = [];
  const cla = buildClusterLoadAssignment('api.demo.local', instances([{ id: 'h', address: 'db.internal' }, { id: 'ip', address: '10.1.1.1' }]), (i, reason) =>
    skipped.push(`${i.id}:${reason}`),
  );
  t.deepEqual(skipped, ['h:hostname']);
  t.is(cla.endpoints.length, 1);
  const empty = decodeEncodedAny(encodeClusterLoadAssignment('api.demo.local', [])).message;
  t.deepEqual(empty, { cluster_name: 'api.demo.local' });
});

test('the same state always encodes to the same bytes', (t) => {
  const a = instances([{ id: 'x', address: '10.0.0.1', metadata: { b: '2', a: '1' } }, { id: 'y', address: '10.0.0.2', zone: 'z' }]);
  t.true(encodeClusterLoadAssignment('s', a).equals(encodeClusterLoadAssignment('s', [...a].reverse())));
  t.true(
    encodeCluster(service({ lb_policy: 'consistent_hash', lb_options: { hash_on: 'header', name: 'x-user' } })).equals(
      encodeCluster(service({ lb_policy: 'consistent_hash', lb_options: { name: 'x-user', hash_on: 'header' } })),
    ),
  );
});

test('the listener is an API listener whose connection manager uses RDS over ADS and ends with the router', (t) => {
  const { type_url, message: l } = decodeEncodedAny(encodeListener('api.demo.local'));
  t.is(type_url, LISTENER_TYPE_URL);
  t.is(l['name'], 'api.demo.local');
  const hcmAny = l['api_listener']['api_listener'];
  t.is(hcmAny['type_url'], 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
  const hcm = decodeAny(hcmAny) as Obj;
  t.is(hcm['route_specifier'], 'rds');
  t.deepEqual(hcm['rds']['config_source']['ads'], {});
  t.is(hcm['rds']['route_config_name'], 'api.demo.local');
  const filters = hcm['http_filters'] as Obj[];
  t.is(filters.at(-1)!['typed_config']['type_url'], 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router');
});

test('the route sends everything for the name to the cluster of the same name, with timeout and retries', (t) => {
  const svc = service({ timeout_ms: 2500, retry: { num_retries: 3, retry_on: ['unavailable', '5xx'], per_try_timeout_ms: 500 } });
  const { type_url, message: rc } = decodeEncodedAny(encodeRouteConfiguration(svc));
  t.is(type_url, ROUTE_TYPE_URL);
  t.is(rc['name'], 'api.demo.local');
  const vh = rc['virtual_hosts'][0];
  t.deepEqual(vh['domains'], ['api.demo.local', '*']);
  const route = vh['routes'][0];
  t.is(route['match']['path_specifier'], 'prefix');
  t.is(route['route']['cluster'], 'api.demo.local');
  t.deepEqual(route['route']['timeout'], { seconds: '2', nanos: 500_000_000 });
  t.is(route['route']['retry_policy']['retry_on'], 'unavailable,5xx');
  t.is(route['route']['retry_policy']['num_retries']['value'], 3);
  t.deepEqual(route['route']['retry_policy']['per_try_timeout'], { seconds: '0', nanos: 500_000_000 });
  const none = decodeEncodedAny(encodeRouteConfiguration(service({ retry: { num_retries: 0 } }))).message;
  t.is(none['virtual_hosts'][0]['routes'][0]['route']['retry_policy'], undefined, 'grpc-js rejects num_retries 0');
});

test('a consistent-hash route hashes on the configured key, falling back to the gRPC channel', (t) => {
  const hashPolicy = (lb_options: Record<string, unknown>): unknown =>
    decodeEncodedAny(encodeRouteConfiguration(service({ lb_policy: 'consistent_hash', lb_options }))).message['virtual_hosts'][0]['routes'][0]['route'][
      'hash_policy'
    ];
  const channel = { filter_state: { key: 'io.grpc.channel_id' }, policy_specifier: 'filter_state' };
  t.deepEqual(hashPolicy({ hash_on: 'header', name: 'X-User' }), [{ header: { header_name: 'x-user' }, terminal: true, policy_specifier: 'header' }, channel]);
  t.deepEqual(hashPolicy({ hash_on: 'cookie', name: 'session' }), [{ cookie: { name: 'session' }, terminal: true, policy_specifier: 'cookie' }, channel]);
  t.deepEqual(hashPolicy({ hash_on: 'query_parameter', name: 'k' }), [{ query_parameter: { name: 'k' }, terminal: true, policy_specifier: 'query_parameter' }, channel]);
  t.deepEqual(hashPolicy({ hash_on: 'source_ip' }), [
    { connection_properties: { source_ip: true }, terminal: true, policy_specifier: 'connection_properties' },
    channel,
  ]);
  t.is(decodeEncodedAny(encodeRouteConfiguration(service())).message['virtual_hosts'][0]['routes'][0]['route']['hash_policy'], undefined);
});

test('the message types come from the shipped Envoy protos', (t) => {
  t.is(messageType(CLUSTER_MESSAGE).fullName, '.envoy.config.cluster.v3.Cluster');
});
