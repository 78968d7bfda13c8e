import test from 'ava';
import { parseBuiltinServiceConfig } from '../../src/balancers/service-config.js';
import type { Instance } from '../../src/registry/model.js';
import { decodeResponse } from '../../src/xds/client/ads-client-response.js';
import { decodeAny, packAny } from '../../src/xds/envoy-protos.js';
import { clusterDecoder } from '../../src/xds/resources/cluster-decode.js';
import { buildCluster, CLUSTER_MESSAGE } from '../../src/xds/resources/cluster-encode.js';
import { endpointsDecoder } from '../../src/xds/resources/endpoints-decode.js';
import { buildClusterLoadAssignment, ENDPOINT_MESSAGE } from '../../src/xds/resources/endpoints-encode.js';
import { outriggerMetadata } from '../../src/xds/resources/outrigger-metadata.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '../../src/xds/type-urls.js';
import { assignmentAny, clusterAny } from '../helpers/ads-client-fake-hub.js';

/** Through the wire encoding and back, so decoders see exactly what a response carries. */
const wire = (typeName: string, message: object): Record<string, unknown> => decodeAny(packAny(typeName, message));

const EDS_CLUSTER = { type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } };

function instance(fields: Partial<Instance> & { id: string; port: number }): Instance {
  return {
    namespace: 'demo.local',
    service: 'api',
    address: '10.0.0.1',
    protocol: 'grpc',
    version: 'v2',
    zone: 'z1',
    region: 'r1',
    weight: 100,
    metadata: { team: 'core' },
    health: 'HEALTHY',
    reportedHealth: 'HEALTHY',
    source: 'self',
    lease: { ttlMs: 0, deregisterCriticalAfterMs: 0, renewedAt: 0, held: false },
    registeredAt: 0,
    updatedAt: 0,
    revision: 1,
    ...fields,
  };
}

test('a hub cluster decodes to its exact service config from the outrigger metadata', (t) => {
  const config = parseBuiltinServiceConfig({ lb_policy: 'least_request', lb_options: { choice_count: 3 }, timeout_ms: 2500, outlier_detection: { success_rate: {} } });
  const msg = wire(CLUSTER_MESSAGE, buildCluster({ namespace: 'demo.local', name: 'api', config, createdAt: 0, revision: 1 }));
  const r = clusterDecoder.decode(msg, '7');
  if (!r.ok) return t.fail(r.error);
  t.is(r.name, 'api.demo.local');
  t.is(r.value.version, '7');
  t.is(r.value.configSource, 'metadata');
  t.deepEqual(r.value.config, config);
});

test('a cluster without outrigger metadata is read from Envoy fields', (t) => {
  const msg = wire(CLUSTER_MESSAGE, {
    name: 'ring.demo.local',
    ...EDS_CLUSTER,
    lb_policy: 'RING_HASH',
    ring_hash_lb_config: { minimum_ring_size: { value: 2048 } },
    circuit_breakers: {
      thresholds: [
        { priority: 'HIGH', max_connections: { value: 9 } },
        { max_connections: { value: 50 }, max_requests: { value: 70 }, retry_budget: { budget_percent: { value: 25 }, min_retry_concurrency: { value: 4 } } },
      ],
    },
    outlier_detection: { consecutive_5xx: { value: 7 }, interval: { seconds: 2, nanos: 500_000_000 }, enforcing_success_rate: { value: 0 } },
    common_lb_config: { healthy_panic_threshold: { value: 30 } },
  });
  const r = clusterDecoder.decode(msg, '1');
  if (!r.ok) return t.fail(r.error);
  const c = r.value.config;
  t.is(r.value.configSource, 'envoy');
  t.is(c.lb_policy, 'random', 'ring hash without the route\'s hash policy picks at random, as Envoy does');
  t.deepEqual(c.lb_options, {});
  t.is(c.circuit_breakers.max_connections, 50, 'the DEFAULT priority threshold applies');
  t.is(c.circuit_breakers.max_requests, 70);
  t.is(c.circuit_breakers.max_pending_requests, 1024, 'absent fields keep the defaults');
  t.is(c.retry.budget_percent, 25);
  t.is(c.retry.min_retry_concurrency, 4);
  t.true(c.outlier_detection.enabled);
  t.is(c.outlier_detection.consecutive_5xx, 7);
  t.is(c.outlier_detection.interval_ms, 2500);
  t.is(c.outlier_detection.success_rate, undefined, 'enforcing_success_rate 0 turns it off');
  t.is(c.panic_threshold_percent, 30);

  const plain = clusterDecoder.decode(wire(CLUSTER_MESSAGE, { name: 'plain.demo.local', ...EDS_CLUSTER }), '1');
  if (!plain.ok) return t.fail(plain.error);
  t.is(plain.value.config.lb_policy, 'round_robin');
  t.false(plain.value.config.outlier_detection.enabled, 'no outlier_detection field: none');
});

test('load_balancing_policy: the first supported entry wins (gRPC A52)', (t) => {
  const msg = wire(CLUSTER_MESSAGE, {
    name: 'lr.demo.local',
    ...EDS_CLUSTER,
    load_balancing_policy: {
      policies: [
        { typed_extension_config: { name: 'x', typed_config: { type_url: 'type.googleapis.com/example.Unknown', value: Buffer.alloc(0) } } },
        {
          typed_extension_config: {
            name: 'lr',
            typed_config: packAny('envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest', { choice_count: { value: 4 } }),
          },
        },
      ],
    },
  });
  const r = clusterDecoder.decode(msg, '1');
  if (!r.ok) return t.fail(r.error);
  t.is(r.value.config.lb_policy, 'least_request');
  t.like(r.value.config.lb_options, { choice_count: 4 });
});

test('invalid clusters are rejected with the field and the problem', (t) => {
  const error = (msg: object): string => {
    const r = clusterDecoder.decode(wire(CLUSTER_MESSAGE, msg), '1');
    return r.ok ? 'accepted' : r.error;
  };
  t.regex(error({ name: 'a.demo.local' }), /^type: only EDS clusters are supported, got STATIC/);
  t.regex(error({ name: 'a.demo.local', type: 'EDS' }), /^eds_cluster_config\.eds_config: endpoints must come over ADS/);
  t.regex(error({ name: 'a.demo.local', ...EDS_CLUSTER, lb_policy: 'CLUSTER_PROVIDED' }), /^lb_policy: CLUSTER_PROVIDED is not supported/);
  t.regex(
    error({ name: 'a.demo.local', ...EDS_CLUSTER, metadata: outriggerMetadata({ service: 'a', namespace: 'demo.local', config: { lb_policy: 'fastest' } }) }),
    /^metadata\.outrigger\.config\.lb_policy: must be one of round_robin/,
  );
  t.regex(
    error({ name: 'a.demo.local', ...EDS_CLUSTER, metadata: outriggerMetadata({ service: 'b', namespace: 'demo.local', config: {} }) }),
    /^metadata\.outrigger: names service b\.demo\.local, not the cluster a\.demo\.local/,
  );
  t.regex(
    error({ name: 'a.demo.local', ...EDS_CLUSTER, circuit_breakers: { thresholds: [{ max_connections: { value: 5_000_000 } }] } }),
    /circuit_breakers\.max_connections: must be an integer from 1 to 1000000/,
  );
  const nameless = clusterDecoder.decode(wire(CLUSTER_MESSAGE, EDS_CLUSTER), '1');
  t.false(nameless.ok);
  t.is(nameless.ok ? '' : nameless.error, 'name: must be set');
});

test('a hub assignment decodes with ids, labels, locality and health from the instances', (t) => {
  const cla = buildClusterLoadAssignment('api.demo.local', [
    instance({ id: 'api-2', port: 7002, address: '10.0.0.2', health: 'DRAINING', weight: 5 }),
    instance({ id: 'api-1', port: 7001 }),
  ]);
  const r = endpointsDecoder.decode(wire(ENDPOINT_MESSAGE, cla), '9');
  if (!r.ok) return t.fail(r.error);
  t.is(r.value.cluster, 'api.demo.local');
  t.is(r.value.version, '9');
  t.deepEqual(r.value.endpoints, [
    { id: 'api-1', address: '10.0.0.1', port: 7001, weight: 100, zone: 'z1', region: 'r1', health: 'HEALTHY', version: 'v2', protocol: 'grpc', metadata: { team: 'core' } },
    { id: 'api-2', address: '10.0.0.2', port: 7002, weight: 5, zone: 'z1', region: 'r1', health: 'DRAINING', version: 'v2', protocol: 'grpc', metadata: { team: 'core' } },
  ]);
});

test('an endpoint without metadata is named by address:port; Envoy defaults apply', (t) => {
  const r = endpointsDecoder.decode(
    wire(ENDPOINT_MESSAGE, {
      cluster_name: 'x.demo.local',
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '::1', port_value: 80 } } } },
            { endpoint: { address: { socket_address: { address: '10.1.1.1', port_value: 81 } } }, health_status: 'DEGRADED' },
          ],
        },
      ],
    }),
    '1',
  );
  if (!r.ok) return t.fail(r.error);
  t.deepEqual(
    r.value.endpoints.map((e) => [e.id, e.weight, e.health, e.protocol, e.zone]),
    [
      ['10.1.1.1:81', 1, 'HEALTHY', undefined, ''],
      ['[::1]:80', 1, 'UNKNOWN', undefined, ''],
    ],
  );
});

test('invalid assignments are rejected with the path of the bad endpoint', (t) => {
  const error = (endpoints: Array<{ address: string; port: number; weight?: number; id?: string }>): string => {
    const r = endpointsDecoder.decode(decodeAny(assignmentAny('api.demo.local', endpoints)), '1');
    return r.ok ? 'accepted' : r.error;
  };
  t.is(
    error([
      { address: '10.0.0.1', port: 80 },
      { address: '10.0.0.1', port: 80, id: 'other' },
    ]),
    'endpoints[0].lb_endpoints[1]: duplicate address 10.0.0.1:80 (also at endpoints[0].lb_endpoints[0])',
  );
  t.regex(error([{ address: '10.0.0.1', port: 0 }]), /lb_endpoints\[0\]\.endpoint\.address\.socket_address\.port_value: must be from 1 to 65535, got 0/);
  t.regex(error([{ address: '10.0.0.1', port: 80, weight: 0 }]), /lb_endpoints\[0\]\.load_balancing_weight: must be at least 1, got 0/);
  t.regex(error([{ address: 'db.internal', port: 80 }]), /socket_address\.address: must be an IP address, got "db\.internal"/);
  t.regex(
    error([
      { address: '10.0.0.1', port: 80, id: 'same' },
      { address: '10.0.0.2', port: 80, id: 'same' },
    ]),
    /duplicate endpoint id same/,
  );
  const priority = endpointsDecoder.decode(
    wire(ENDPOINT_MESSAGE, { cluster_name: 'a.b', endpoints: [{ priority: 1, lb_endpoints: [] }] }),
    '1',
  );
  t.is(priority.ok ? '' : priority.error, 'endpoints[0].priority: only priority 0 is supported, got 1');
});

test('one bad resource rejects the whole response, naming the resource', (t) => {
  const good = assignmentAny('a.demo.local', [{ address: '10.0.0.1', port: 80 }]);
  const bad = assignmentAny('b.demo.local', [{ address: '10.0.0.1', port: 70000 }]);
  const r = decodeResponse(endpointsDecoder, { version_info: '4', type_url: ENDPOINT_TYPE_URL, nonce: '1', resources: [good, bad] });
  t.false(r.ok);
  if (r.ok) return;
  t.deepEqual(r.rejections.map((x) => x.name), ['b.demo.local']);
  t.regex(r.detail, /^rejected ClusterLoadAssignment version 4: ClusterLoadAssignment b\.demo\.local: endpoints\[0\]\.lb_endpoints\[0\]/);

  const mixed = decodeResponse(clusterDecoder, { version_info: '5', type_url: CLUSTER_TYPE_URL, nonce: '2', resources: [clusterAny('a', 'demo.local'), good] });
  t.false(mixed.ok);
  t.regex(mixed.ok ? '' : mixed.detail, /resources\[1\]: a type\.googleapis\.com\/envoy\.config\.endpoint\.v3\.ClusterLoadAssignment in a Cluster response/);

  const twice = decodeResponse(clusterDecoder, { version_info: '6', type_url: CLUSTER_TYPE_URL, nonce: '3', resources: [clusterAny('a', 'demo.local'), clusterAny('a', 'demo.local')] });
  t.regex(twice.ok ? '' : twice.detail, /Cluster a\.demo\.local: sent twice in one response/);

  const fine = decodeResponse(clusterDecoder, { version_info: '7', type_url: CLUSTER_TYPE_URL, nonce: '4', resources: [clusterAny('a', 'demo.local')] });
  t.true(fine.ok);
});
