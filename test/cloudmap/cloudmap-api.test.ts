/**
 * The rest of the Cloud Map API with the AWS SDK: paging over 250 instances, operations,
 * tags, UpdateService, and the errors in AWS's shape for bad input and missing resources.
 */
import test from 'ava';
import {
  CreateHttpNamespaceCommand,
  CreatePrivateDnsNamespaceCommand,
  CreatePublicDnsNamespaceCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DiscoverInstancesCommand,
  GetInstanceCommand,
  GetNamespaceCommand,
  GetOperationCommand,
  GetServiceCommand,
  ListInstancesCommand,
  ListOperationsCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  RegisterInstanceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateInstanceCustomHealthStatusCommand,
  UpdateServiceCommand,
  paginateListInstances,
  type ServiceDiscoveryClient,
  type ServiceDiscoveryServiceException,
} from '@aws-sdk/client-servicediscovery';
import { startCloudMapHub } from '../helpers/cloudmap-hub.js';

async function setUp(sd: ServiceDiscoveryClient, ns = 'paging.local', service = 'many'): Promise<{ nsId: string; serviceId: string; serviceArn: string; nsArn: string }> {
  const op = await sd.send(new CreateHttpNamespaceCommand({ Name: ns, Tags: [{ Key: 'team', Value: 'a' }] }));
  const nsId = (await sd.send(new GetOperationCommand({ OperationId: op.OperationId! }))).Operation!.Targets!.NAMESPACE!;
  const svc = await sd.send(new CreateServiceCommand({ Name: service, NamespaceId: nsId, Description: 'first' }));
  const nsArn = (await sd.send(new GetNamespaceCommand({ Id: nsId }))).Namespace!.Arn!;
  return { nsId, serviceId: svc.Service!.Id!, serviceArn: svc.Service!.Arn!, nsArn };
}

async function refusal(t: { throwsAsync: (p: Promise<unknown>) => Promise<unknown> }, p: Promise<unknown>): Promise<ServiceDiscoveryServiceException> {
  return (await t.throwsAsync(p)) as ServiceDiscoveryServiceException;
}

test('ListInstances pages over 250 instances with NextToken, each once; DiscoverInstances honours MaxResults', async (t) => {
  const hub = await startCloudMapHub(t);
  const sd = hub.sdk();
  const { serviceId } = await setUp(sd);
  const ids = Array.from({ length: 250 }, (_, i) => `i-${String(i).padStart(3, '0')}`);
  for (const [i, id] of ids.entries()) {
    await sd.send(new RegisterInstanceCommand({ ServiceId: serviceId, InstanceId: id, Attributes: { AWS_INSTANCE_IPV4: `10.2.${i >> 8}.${i & 255}`, AWS_INSTANCE_PORT: '80' } }));
  }
  const seen: string[] = [];
  let pages = 0;
  for await (const page of paginateListInstances({ client: sd, pageSize: 100 }, { ServiceId: serviceId })) {
    pages++;
    seen.push(...(page.Instances ?? []).map((i) => i.Id!));
  }
  t.is(pages, 3);
  t.deepEqual(seen, ids);
  const first = await sd.send(new ListInstancesCommand({ ServiceId: serviceId, MaxResults: 7 }));
  t.is(first.Instances?.length, 7);
  t.truthy(first.NextToken);
  const bad = await refusal(t, sd.send(new ListInstancesCommand({ ServiceId: serviceId, NextToken: 'garbage' })));
  t.is(bad.name, 'InvalidInput');
  t.is((await sd.send(new DiscoverInstancesCommand({ NamespaceName: 'paging.local', ServiceName: 'many', MaxResults: 1000 }))).Instances?.length, 250);
  t.is((await sd.send(new DiscoverInstancesCommand({ NamespaceName: 'paging.local', ServiceName: 'many' }))).Instances?.length, 100, '100 by default, as AWS');
  const tooMany = await refusal(t, sd.send(new ListInstancesCommand({ ServiceId: serviceId, MaxResults: 101 })));
  t.regex(tooMany.message, /MaxResults: must be an integer from 1 to 100/);
});

test('operations are listed, filtered and paged; an unknown one is OperationNotFound', async (t) => {
  const hub = await startCloudMapHub(t);
  const sd = hub.sdk();
  const { nsId, serviceId } = await setUp(sd);
  const reg = await sd.send(new RegisterInstanceCommand({ ServiceId: serviceId, InstanceId: 'a', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1', AWS_INSTANCE_PORT: '80' } }));
  const all = await sd.send(new ListOperationsCommand({}));
  t.is(all.Operations?.length, 2);
  const registers = await sd.send(new ListOperationsCommand({ Filters: [{ Name: 'TYPE', Values: ['REGISTER_INSTANCE'], Condition: 'EQ' }] }));
  t.deepEqual(registers.Operations, [{ Id: reg.OperationId, Status: 'SUCCESS' }]);
  t.is((await sd.send(new ListOperationsCommand({ Filters: [{ Name: 'SERVICE_ID', Values: [serviceId] }] }))).Operations?.length, 1);
  t.is((await sd.send(new ListOperationsCommand({ Filters: [{ Name: 'NAMESPACE_ID', Values: [nsId] }] }))).Operations?.length, 2);
  const paged = await sd.send(new ListOperationsCommand({ MaxResults: 1 }));
  t.is(paged.Operations?.length, 1);
  t.is((await sd.send(new ListOperationsCommand({ MaxResults: 1, NextToken: paged.NextToken! }))).Operations?.length, 1);
  const op = (await sd.send(new GetOperationCommand({ OperationId: reg.OperationId! }))).Operation!;
  t.deepEqual(op.Targets, { NAMESPACE: nsId, SERVICE: serviceId, INSTANCE: 'a' });
  const missing = await refusal(t, sd.send(new GetOperationCommand({ OperationId: 'no-such-operation' })));
  t.is(missing.name, 'OperationNotFound');
  t.is(missing.$metadata.httpStatusCode, 400);
  const badDate = await refusal(t, sd.send(new ListOperationsCommand({ Filters: [{ Name: 'UPDATE_DATE', Values: ['1'], Condition: 'EQ' }] })));
  t.is(badDate.name, 'InvalidInput');
});

test('tags on namespaces and services, by ARN', async (t) => {
  const hub = await startCloudMapHub(t);
  const sd = hub.sdk();
  const { nsArn, serviceArn } = await setUp(sd);
  t.deepEqual((await sd.send(new ListTagsForResourceCommand({ ResourceARN: nsArn }))).Tags, [{ Key: 'team', Value: 'a' }]);
  await sd.send(new TagResourceCommand({ ResourceARN: serviceArn, Tags: [{ Key: 'env', Value: 'dev' }, { Key: 'tier', Value: 'web' }] }));
  await sd.send(new UntagResourceCommand({ ResourceARN: serviceArn, TagKeys: ['tier'] }));
  t.deepEqual((await sd.send(new ListTagsForResourceCommand({ ResourceARN: serviceArn }))).Tags, [{ Key: 'env', Value: 'dev' }]);
  const gone = await refusal(t, sd.send(new ListTagsForResourceCommand({ ResourceARN: serviceArn.replace(/srv-[a-z2-7]+/, 'srv-aaaaaaaaaaaaaaaa') })));
  t.is(gone.name, 'ResourceNotFoundException');
  const foreign = await refusal(t, sd.send(new ListTagsForResourceCommand({ ResourceARN: 'arn:aws:servicediscovery:us-east-1:999999999999:service/srv-aaaaaaaaaaaaaaaa' })));
  t.is(foreign.name, 'InvalidInput');
});

test('UpdateService changes the description and DNS TTL; services list and delete', async (t) => {
  const hub = await startCloudMapHub(t);
  const sd = hub.sdk();
  const ns = await sd.send(new CreatePrivateDnsNamespaceCommand({ Name: 'dns.local', Vpc: 'vpc-1' }));
  const nsId = (await sd.send(new GetOperationCommand({ OperationId: ns.OperationId! }))).Operation!.Targets!.NAMESPACE!;
  const svc = await sd.send(new CreateServiceCommand({ Name: 'api', NamespaceId: nsId, DnsConfig: { DnsRecords: [{ Type: 'A', TTL: 60 }] }, HealthCheckConfig: { Type: 'HTTP', ResourcePath: '/health' } }));
  const id = svc.Service!.Id!;
  const up = await sd.send(new UpdateServiceCommand({ Id: id, Service: { Description: 'second', DnsConfig: { DnsRecords: [{ Type: 'A', TTL: 10 }] } } }));
  t.is((await sd.send(new GetOperationCommand({ OperationId: up.OperationId! }))).Operation?.Type, 'UPDATE_SERVICE');
  const got = (await sd.send(new GetServiceCommand({ Id: id }))).Service!;
  t.like(got, { Description: 'second', Type: 'DNS_HTTP', HealthCheckConfig: { Type: 'HTTP', ResourcePath: '/health' } });
  t.deepEqual(got.DnsConfig?.DnsRecords, [{ Type: 'A', TTL: 10 }]);
  t.is(hub.hub.registry.getService('dns.local', 'api')?.config.dns.ttl, 10);
  t.deepEqual((await sd.send(new ListServicesCommand({ Filters: [{ Name: 'NAMESPACE_ID', Values: [nsId], Condition: 'EQ' }] }))).Services?.map((s) => s.Name), ['api']);
  // A service with Route 53-style checks takes no custom health status.
  await sd.send(new RegisterInstanceCommand({ ServiceId: id, InstanceId: 'x', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1', AWS_INSTANCE_PORT: '80' } }));
  t.is((await refusal(t, sd.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: id, InstanceId: 'x', Status: 'UNHEALTHY' })))).name, 'CustomHealthNotFound');
  t.is((await refusal(t, sd.send(new DeleteServiceCommand({ Id: id })))).name, 'ResourceInUse');
});

test('bad input is InvalidInput naming the field, missing resources have their own errors, and neither changes anything', async (t) => {
  const hub = await startCloudMapHub(t);
  const sd = hub.sdk();
  const { nsId, serviceId } = await setUp(sd);
  const before = hub.hub.registry.version;
  let e = await refusal(t, sd.send(new CreatePublicDnsNamespaceCommand({ Name: 'example.com' })));
  t.is(e.name, 'InvalidInput');
  t.regex(e.message, /public DNS namespaces are not supported/);
  e = await refusal(t, sd.send(new CreateHttpNamespaceCommand({ Name: 'Not_A_Name' })));
  t.regex(e.message, /^Name: must be a DNS name/);
  e = await refusal(t, sd.send(new CreatePrivateDnsNamespaceCommand({ Name: 'novpc.local', Vpc: undefined as unknown as string })));
  t.regex(e.message, /^Vpc: is required/);
  e = await refusal(t, sd.send(new CreateHttpNamespaceCommand({ Name: 'paging.local' })));
  t.is(e.name, 'NamespaceAlreadyExists');
  e = await refusal(t, sd.send(new CreateServiceCommand({ Name: 'many', NamespaceId: nsId })));
  t.is(e.name, 'ServiceAlreadyExists');
  e = await refusal(t, sd.send(new CreateServiceCommand({ Name: 'x', NamespaceId: 'ns-aaaaaaaaaaaaaaaa' })));
  t.is(e.name, 'NamespaceNotFound');
  e = await refusal(t, sd.send(new GetServiceCommand({ Id: 'srv-aaaaaaaaaaaaaaaa' })));
  t.is(e.name, 'ServiceNotFound');
  e = await refusal(t, sd.send(new GetInstanceCommand({ ServiceId: serviceId, InstanceId: 'nope' })));
  t.is(e.name, 'InstanceNotFound');
  e = await refusal(t, sd.send(new RegisterInstanceCommand({ ServiceId: serviceId, InstanceId: 'a', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.300', AWS_INSTANCE_PORT: '80' } })));
  t.regex(e.message, /^Attributes\.AWS_INSTANCE_IPV4: must be an IPv4 address/);
  e = await refusal(t, sd.send(new RegisterInstanceCommand({ ServiceId: serviceId, InstanceId: 'a', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.3' } })));
  t.regex(e.message, /^Attributes\.AWS_INSTANCE_PORT: is required/);
  e = await refusal(t, sd.send(new RegisterInstanceCommand({ ServiceId: serviceId, InstanceId: 'a', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.3', AWS_INSTANCE_PORT: '80', 'bad key!': 'x' } })));
  t.regex(e.message, /^Attributes: metadata/);
  e = await refusal(t, sd.send(new CreateHttpNamespaceCommand({ Name: 'dup.local', CreatorRequestId: 'r1' })).then(() => sd.send(new CreateHttpNamespaceCommand({ Name: 'dup2.local', CreatorRequestId: 'r1' }))));
  t.is(e.name, 'DuplicateRequest');
  t.is(hub.hub.registry.getNamespace('dup2.local'), undefined);
  t.is(hub.hub.registry.version, before + 1, 'only dup.local was created');
  const res = await fetch(`${hub.addresses.http}/`, { method: 'POST', headers: { 'x-amz-target': 'Route53AutoNaming_v20170314.NoSuchThing', 'content-type': 'application/x-amz-json-1.1' }, body: '{}' });
  t.like(await res.json(), { __type: 'MissingAuthenticationTokenException' }, 'nothing is said before the signature is checked');
});
