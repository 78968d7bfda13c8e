import test from 'ava';
import { healthOf, mapSlice, protocolOf } from '../../../src/k8s/endpoint-slice/slice-mapping.js';
import { registerInputSchema } from '../../../src/registry/validation.js';
import { endpointSlice } from '../helpers/fake-kube-api.js';

test('health: ready → HEALTHY, terminating and serving → DRAINING, otherwise UNHEALTHY', (t) => {
  t.is(healthOf({ ready: true, serving: true, terminating: false }), 'HEALTHY');
  t.is(healthOf({}), 'HEALTHY', 'unknown readiness reads as ready, as the API says');
  t.is(healthOf({ ready: false, serving: false, terminating: false }), 'UNHEALTHY');
  t.is(healthOf({ ready: false, serving: true, terminating: true }), 'DRAINING');
  t.is(healthOf({ ready: true, serving: true, terminating: true }), 'DRAINING', 'publishNotReadyAddresses keeps ready on while terminating');
  t.is(healthOf({ ready: false, serving: false, terminating: true }), 'UNHEALTHY');
});

test('protocol: appProtocol first, then the port name, unnamed is http, other names tcp', (t) => {
  t.is(protocolOf('', undefined), 'http');
  t.is(protocolOf('http', undefined), 'http');
  t.is(protocolOf('http-admin', undefined), 'http');
  t.is(protocolOf('grpc', undefined), 'grpc');
  t.is(protocolOf('grpc-web', undefined), 'grpc');
  t.is(protocolOf('http2', undefined), 'http2');
  t.is(protocolOf('h2c', undefined), 'http2');
  t.is(protocolOf('https', undefined), 'tcp');
  t.is(protocolOf('redis', undefined), 'tcp');
  t.is(protocolOf('metrics', 'http'), 'http');
  t.is(protocolOf('web', 'kubernetes.io/h2c'), 'http2');
  t.is(protocolOf('http', 'grpc'), 'grpc', 'appProtocol wins over the name');
  t.is(protocolOf('api', 'something-custom'), 'tcp');
});

test('one instance per endpoint and port; ids from the pod UID, with the port name when there are several', (t) => {
  const slice = endpointSlice(
    'shop',
    'web-abc',
    'web',
    [
      { ip: '10.1.0.1', pod: { name: 'web-1', uid: 'uid-1' }, node: 'n1', zone: 'z1', hints: ['z1', 'z2'] },
      { ip: '10.1.0.2', ready: false },
    ],
    [{ name: 'http', port: 8080 }, { name: 'grpc', port: 9090 }, { name: 'dns', port: 53, protocol: 'UDP' }],
  );
  const view = mapSlice(slice, 'svc.cluster.local')!;
  t.is(view.key, 'shop/web-abc');
  t.is(view.service, 'web');
  t.deepEqual(
    view.instances.map((i) => `${i.id} ${i.address}:${i.port} ${i.protocol} ${i.health}`),
    [
      'uid-1:http 10.1.0.1:8080 http HEALTHY',
      'uid-1:grpc 10.1.0.1:9090 grpc HEALTHY',
      'shop.web.10.1.0.2.http 10.1.0.2:8080 http UNHEALTHY',
      'shop.web.10.1.0.2.grpc 10.1.0.2:9090 grpc UNHEALTHY',
    ],
    'UDP ports are left out; an endpoint without a pod gets an id from the service and address',
  );
  t.deepEqual(view.instances[0]!.metadata, {
    'k8s.namespace': 'shop',
    'k8s.pod_name': 'web-1',
    'k8s.node_name': 'n1',
    'k8s.port_name': 'http',
    'k8s.hints.for_zones': 'z1,z2',
  });
  t.is(view.instances[0]!.zone, 'z1');
  t.is(view.instances[0]!.namespace, 'shop.svc.cluster.local');
  for (const i of view.instances) t.notThrows(() => registerInputSchema.parse({ ...i, source: 'kubernetes', ttl: 0 }), 'the registry accepts it');
});

test('a single-port slice uses the bare pod UID, the injected sidecar id', (t) => {
  const view = mapSlice(endpointSlice('shop', 's', 'web', [{ ip: '10.1.0.1', pod: { name: 'web-1', uid: 'uid-1' } }]), 'svc.cluster.local')!;
  t.deepEqual(view.instances.map((i) => i.id), ['uid-1']);
});

test('IPv6 slices map; FQDN slices, slices without a service label and odd objects do not', (t) => {
  const v6 = mapSlice(endpointSlice('shop', 's6', 'web', [{ ip: 'fd00::1' }], [{ name: 'http', port: 80 }], 'IPv6'), 'svc.cluster.local')!;
  t.deepEqual(v6.instances.map((i) => `${i.id} ${i.address}`), ['shop.web.fd00::1 fd00::1']);
  const fqdn = mapSlice(endpointSlice('shop', 'sf', 'web', [{ ip: 'example.com' }], [{ name: 'http', port: 80 }], 'FQDN'), 'svc.cluster.local')!;
  t.deepEqual(fqdn.instances, []);
  const unlabelled = endpointSlice('shop', 'x', 'web', [{ ip: '10.0.0.1' }]);
  (unlabelled.metadata as { labels?: unknown }).labels = {};
  t.is(mapSlice(unlabelled, 'svc.cluster.local')!.service, undefined);
  t.deepEqual(mapSlice(unlabelled, 'svc.cluster.local')!.instances, []);
  t.is(mapSlice({ metadata: {} }, 'svc.cluster.local'), undefined);
  t.is(mapSlice('nonsense', 'svc.cluster.local'), undefined);
  const long = mapSlice(endpointSlice('n'.repeat(63), 's', 'w'.repeat(63), [{ ip: '10.0.0.1' }]), 'svc.cluster.local')!;
  t.regex(long.instances[0]!.id, /^k8s-[0-9a-f]{40}$/, 'an id that would be too long is hashed');
});
