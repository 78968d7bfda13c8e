/**
 * The KECS seed's Cloud Map flow with the real AWS SDK against a hub on loopback: a private DNS
 * namespace, a service with a custom health check, two ECS tasks registered, discovered, one
 * marked unhealthy (and gone from discovery and from `dig`), the namespace refused while it holds
 * a service, then everything removed. The same registry is read over REST and DNS throughout.
 */
import test from 'ava';
import {
  CreatePrivateDnsNamespaceCommand,
  CreateServiceCommand,
  DeleteNamespaceCommand,
  DeleteServiceCommand,
  DeregisterInstanceCommand,
  DiscoverInstancesCommand,
  DiscoverInstancesRevisionCommand,
  GetInstanceCommand,
  GetInstancesHealthStatusCommand,
  GetNamespaceCommand,
  GetOperationCommand,
  ListNamespacesCommand,
  RegisterInstanceCommand,
  ResourceInUse,
  UpdateInstanceCustomHealthStatusCommand,
} from '@aws-sdk/client-servicediscovery';
import { ENDPOINT_TYPE_URL } from '../../src/xds/type-urls.js';
import { startCloudMapHub } from '../helpers/cloudmap-hub.js';
import { dig } from '../helpers/dig.js';
import { AdsTestStream } from '../helpers/xds-ads-client.js';

const NS = 'demo.local';

function ecsAttributes(i: number): Record<string, string> {
  return {
    AWS_INSTANCE_IPV4: `10.1.0.${i}`,
    AWS_INSTANCE_PORT: '8080',
    ECS_CLUSTER: 'demo-cluster',
    ECS_SERVICE: 'backend',
    ECS_TASK_ARN: `arn:aws:ecs:eu-west-1:123456789012:task/demo-cluster/task${i}`,
  };
}

test('the KECS flow: namespace, service, two tasks, discovery, custom health, dig, ResourceInUse, clean-up', async (t) => {
  const hub = await startCloudMapHub(t, { auth: { anonymous: { enabled: true, scopes: [NS] } } });
  const sd = hub.sdk();

  // 1. the private DNS namespace; its operation is reported done.
  const created = await sd.send(new CreatePrivateDnsNamespaceCommand({ Name: NS, Vpc: 'vpc-0123456789', CreatorRequestId: 'kecs-ns-1' }));
  t.regex(created.OperationId!, /^[a-z2-7]{32}-[a-z2-7]{8}$/);
  const op = await sd.send(new GetOperationCommand({ OperationId: created.OperationId! }));
  t.is(op.Operation?.Status, 'SUCCESS');
  t.is(op.Operation?.Type, 'CREATE_NAMESPACE');
  const nsId = op.Operation!.Targets!.NAMESPACE!;
  t.regex(nsId, /^ns-[a-z2-7]{16}$/);
  const ns = await sd.send(new GetNamespaceCommand({ Id: nsId }));
  t.is(ns.Namespace?.Name, NS);
  t.is(ns.Namespace?.Type, 'DNS_PRIVATE');
  t.is(ns.Namespace?.Arn, `arn:aws:servicediscovery:eu-west-1:123456789012:namespace/${nsId}`);
  t.true(ns.Namespace?.CreateDate instanceof Date);
  // A retry of the same request answers as the first did.
  t.is((await sd.send(new CreatePrivateDnsNamespaceCommand({ Name: NS, Vpc: 'vpc-0123456789', CreatorRequestId: 'kecs-ns-1' }))).OperationId, created.OperationId);
  t.truthy(hub.hub.registry.getNamespace(NS), 'the namespace is in the registry');

  // 2. the service.
  const svc = await sd.send(
    new CreateServiceCommand({
      Name: 'backend',
      NamespaceId: nsId,
      DnsConfig: { RoutingPolicy: 'MULTIVALUE', DnsRecords: [{ Type: 'A', TTL: 15 }] },
      HealthCheckCustomConfig: { FailureThreshold: 1 },
    }),
  );
  const serviceId = svc.Service!.Id!;
  t.regex(serviceId, /^srv-[a-z2-7]{16}$/);
  t.is(svc.Service?.Arn, `arn:aws:servicediscovery:eu-west-1:123456789012:service/${serviceId}`);
  t.is(svc.Service?.NamespaceId, nsId);
  t.is(hub.hub.registry.getService(NS, 'backend')?.config.dns.ttl, 15, 'the DnsConfig TTL is the service TTL');

  // 3. two tasks with the ECS attributes.
  for (const i of [1, 2]) {
    const reg = await sd.send(new RegisterInstanceCommand({ ServiceId: serviceId, InstanceId: `task${i}`, CreatorRequestId: `reg-${i}`, Attributes: ecsAttributes(i) }));
    t.is((await sd.send(new GetOperationCommand({ OperationId: reg.OperationId! }))).Operation?.Status, 'SUCCESS');
  }
  const inst = hub.hub.registry.getInstance('task1')!;
  t.like(inst, { namespace: NS, service: 'backend', address: '10.1.0.1', port: 8080, health: 'HEALTHY' });
  t.deepEqual({ ...inst.metadata }, { ECS_CLUSTER: 'demo-cluster', ECS_SERVICE: 'backend', ECS_TASK_ARN: 'arn:aws:ecs:eu-west-1:123456789012:task/demo-cluster/task1' });
  t.deepEqual((await sd.send(new GetInstanceCommand({ ServiceId: serviceId, InstanceId: 'task1' }))).Instance, { Id: 'task1', CreatorRequestId: 'reg-1', Attributes: ecsAttributes(1) });

  // 4. both are discovered, with their attributes.
  const both = await sd.send(new DiscoverInstancesCommand({ NamespaceName: NS, ServiceName: 'backend', HealthStatus: 'HEALTHY' }));
  t.deepEqual(both.Instances?.map((i) => i.InstanceId), ['task1', 'task2']);
  t.deepEqual(both.Instances?.[1], { InstanceId: 'task2', NamespaceName: NS, ServiceName: 'backend', HealthStatus: 'HEALTHY', Attributes: ecsAttributes(2) });
  const revision = both.InstancesRevision!;
  t.true(revision > 0);
  const viaQuery = await sd.send(new DiscoverInstancesCommand({ NamespaceName: NS, ServiceName: 'backend', QueryParameters: { ECS_TASK_ARN: ecsAttributes(2).ECS_TASK_ARN! } }));
  t.deepEqual(viaQuery.Instances?.map((i) => i.InstanceId), ['task2'], 'QueryParameters match attributes');
  const optional = await sd.send(new DiscoverInstancesCommand({ NamespaceName: NS, ServiceName: 'backend', OptionalParameters: { ECS_CLUSTER: 'no-such-cluster' } }));
  t.is(optional.Instances?.length, 2, 'OptionalParameters that match nothing are ignored');

  // 5. task2 reports UNHEALTHY: discovery returns only task1; the revision moved.
  await sd.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: serviceId, InstanceId: 'task2', Status: 'UNHEALTHY' }));
  const one = await sd.send(new DiscoverInstancesCommand({ NamespaceName: NS, ServiceName: 'backend', HealthStatus: 'HEALTHY' }));
  t.deepEqual(one.Instances?.map((i) => i.InstanceId), ['task1']);
  t.true(one.InstancesRevision! > revision);
  t.is((await sd.send(new DiscoverInstancesRevisionCommand({ NamespaceName: NS, ServiceName: 'backend' }))).InstancesRevision, one.InstancesRevision);
  t.deepEqual((await sd.send(new DiscoverInstancesCommand({ NamespaceName: NS, ServiceName: 'backend', HealthStatus: 'UNHEALTHY' }))).Instances?.map((i) => i.InstanceId), ['task2']);
  t.is((await sd.send(new DiscoverInstancesCommand({ NamespaceName: NS, ServiceName: 'backend', HealthStatus: 'ALL' }))).Instances?.length, 2);
  t.deepEqual((await sd.send(new GetInstancesHealthStatusCommand({ ServiceId: serviceId }))).Status, { task1: 'HEALTHY', task2: 'UNHEALTHY' });
  t.is(hub.hub.registry.getInstance('task2')?.health, 'UNHEALTHY', 'the registry holds the reported health');

  // The other dialects read the same registry: REST and gRPC discovery, and the anonymous DNS answer.
  const rest = await hub.rest('GET', `/api/v1/discover?namespace=${NS}&service_name=backend`, hub.admin);
  t.deepEqual(rest.json.data.services.map((i: { id: string }) => i.id), ['task1']);
  t.regex((await hub.rest('GET', '/metrics', hub.admin)).text, /^outrigger_hub_registrations_total\{api="cloudmap"\} 2$/m, 'both tasks counted as registrations');
  const grpc = (await hub.grpc('Discover', { namespace: NS, service: 'backend', any_health: true }, hub.admin)) as { instances: Array<{ id: string; address: string; metadata: Record<string, string> }> };
  t.deepEqual(grpc.instances.map((i) => [i.id, i.address, i.metadata.ECS_SERVICE]), [['task1', '10.1.0.1', 'backend'], ['task2', '10.1.0.2', 'backend']]);
  const ads = AdsTestStream.open(hub.addresses.grpc, 'kecs-reader', hub.admin);
  t.teardown(() => ads.closeClient());
  ads.request(ENDPOINT_TYPE_URL, [`backend.${NS}`]);
  const eds = JSON.stringify((await ads.next()).resources);
  t.true(eds.includes('10.1.0.1') && eds.includes('10.1.0.2'), 'xDS carries both tasks, each with its health');
  // 6. dig answers with the healthy task's address only, with the DnsConfig TTL.
  const answer = await dig(hub.addresses.dnsPort!, `backend.${NS}`, 'A');
  t.is(answer.status, 'NOERROR');
  t.deepEqual(answer.answer.map((r) => [r.data[0], r.ttl]), [['10.1.0.1', 15]]);

  // 7. the namespace still holds the service: refused, and nothing changes.
  const refused = await t.throwsAsync(sd.send(new DeleteNamespaceCommand({ Id: nsId })), { instanceOf: ResourceInUse });
  t.regex(refused!.message, /still has 1 service/);
  t.truthy(hub.hub.registry.getNamespace(NS));

  // 8. deregister both, delete the service and the namespace.
  for (const id of ['task1', 'task2']) await sd.send(new DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: id }));
  t.is(hub.hub.registry.instancesOf(NS, 'backend').length, 0);
  await sd.send(new DeleteServiceCommand({ Id: serviceId }));
  const deleted = await sd.send(new DeleteNamespaceCommand({ Id: nsId }));
  t.is((await sd.send(new GetOperationCommand({ OperationId: deleted.OperationId! }))).Operation?.Type, 'DELETE_NAMESPACE');
  t.is(hub.hub.registry.getNamespace(NS), undefined);
  t.deepEqual((await sd.send(new ListNamespacesCommand({}))).Namespaces, []);

  // Every write was audited under the access key id; the secret never reached a log line.
  const writes = hub.logs.filter((l) => l.msg === 'audit' && l.api === 'cloudmap');
  t.true(writes.some((l) => l.op === 'RegisterInstance' && l.who === 'AKIAOUTRIGGERADMIN01' && l.via === 'aws-sigv4' && l.result === 'ok'));
  t.false(hub.logText().includes('adminSecretKey'));
  const metrics = await hub.hub.metrics.register.metrics();
  t.regex(metrics, /outrigger_hub_api_requests_total\{api="cloudmap",route="DiscoverInstances",code="200"\} \d+/);
});

test('an instance registered over REST is discovered through Cloud Map, with stable ids for what Cloud Map did not create', async (t) => {
  const hub = await startCloudMapHub(t);
  const sd = hub.sdk();
  const res = await hub.rest('POST', '/api/v1/services', hub.admin, { id: 'web-1', name: 'web', namespace: 'shop.local', address: '10.9.0.1', port: 9000, metadata: { team: 'a' }, ttl: 0 });
  t.is(res.status, 201);
  const listed = await sd.send(new ListNamespacesCommand({}));
  t.deepEqual(listed.Namespaces?.map((n) => [n.Name, n.Type, n.ServiceCount]), [['shop.local', 'HTTP', 1]]);
  t.is((await hub.sdk().send(new ListNamespacesCommand({}))).Namespaces?.[0]?.Id, listed.Namespaces?.[0]?.Id, 'the id is stable');
  const found = await sd.send(new DiscoverInstancesCommand({ NamespaceName: 'shop.local', ServiceName: 'web' }));
  t.deepEqual(found.Instances, [{ InstanceId: 'web-1', NamespaceName: 'shop.local', ServiceName: 'web', HealthStatus: 'HEALTHY', Attributes: { AWS_INSTANCE_IPV4: '10.9.0.1', AWS_INSTANCE_PORT: '9000', team: 'a' } }]);
});
