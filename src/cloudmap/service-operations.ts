/**
 * Services: CreateService (DnsConfig, HealthCheckConfig, HealthCheckCustomConfig), GetService,
 * ListServices, UpdateService and DeleteService; `service:write` to change, `service:read` to
 * read. The DnsConfig's TTL becomes the service's `dns.ttl`, so the hub's DNS answers with it.
 */
import { z } from 'zod';
import { serviceNameSchema } from '../model/names.js';
import { parseWith } from '../model/parse-input.js';
import type { Service } from '../registry/model.js';
import {
  byId,
  checkedService,
  creatorRequestId,
  epochSeconds,
  findNamespace,
  idSchema,
  listInput,
  matches,
  str,
  tagMap,
  tagsSchema,
  type CloudMapContext,
  type CloudMapOperation,
} from './cloudmap-context.js';
import { CloudMapError, invalidInput } from './cloudmap-errors.js';
import { namespaceId, page, serviceArn, serviceId } from './cloudmap-ids.js';
import type { ServiceRecord } from './cloudmap-store.js';

const ttl = z.number({ error: 'must be an integer from 0 to 2147483647' }).int({ error: 'must be an integer from 0 to 2147483647' }).min(0, { error: 'must be an integer from 0 to 2147483647' }).max(2_147_483_647, { error: 'must be an integer from 0 to 2147483647' });
const dnsRecords = z
  .array(z.object({ Type: z.enum(['SRV', 'A', 'AAAA', 'CNAME'], { error: 'must be one of SRV, A, AAAA, CNAME' }), TTL: ttl }), { error: 'must be a list of {Type, TTL}' })
  .min(1, { error: 'must hold at least one record' })
  .max(4, { error: 'must hold at most 4 records' });
const dnsConfig = z.object({
  NamespaceId: str(64).optional(),
  RoutingPolicy: z.enum(['MULTIVALUE', 'WEIGHTED'], { error: 'must be MULTIVALUE or WEIGHTED' }).optional(),
  DnsRecords: dnsRecords,
});
const healthCheckConfig = z.object({
  Type: z.enum(['HTTP', 'HTTPS', 'TCP'], { error: 'must be one of HTTP, HTTPS, TCP' }),
  ResourcePath: str(255).optional(),
  FailureThreshold: z.number({ error: 'must be an integer from 1 to 10' }).int().min(1, { error: 'must be an integer from 1 to 10' }).max(10, { error: 'must be an integer from 1 to 10' }).optional(),
});
const healthCheckCustomConfig = z.object({
  FailureThreshold: z.number({ error: 'must be an integer from 1 to 10' }).int().min(1, { error: 'must be an integer from 1 to 10' }).max(10, { error: 'must be an integer from 1 to 10' }).optional(),
});

const createSchema = z.object({
  Name: serviceNameSchema,
  NamespaceId: idSchema.optional(),
  CreatorRequestId: creatorRequestId,
  Description: str(1024).optional(),
  DnsConfig: dnsConfig.optional(),
  HealthCheckConfig: healthCheckConfig.optional(),
  HealthCheckCustomConfig: healthCheckCustomConfig.optional(),
  Tags: tagsSchema,
  Type: z.literal('HTTP', { error: 'must be HTTP (or left out)' }).optional(),
});

/** The Service shape of GetService and CreateService; ServiceSummary is the same with fewer members. */
export function serviceJson(ctx: CloudMapContext, svc: Service): Record<string, unknown> {
  const r = ctx.store.service(svc.namespace, svc.name);
  const id = serviceId(svc.namespace, svc.name);
  return {
    Id: id,
    Arn: serviceArn(ctx.arn, id),
    Name: svc.name,
    NamespaceId: namespaceId(svc.namespace),
    Description: r?.description ?? '',
    InstanceCount: ctx.registry.instancesOf(svc.namespace, svc.name).length,
    Type: r?.type ?? (r?.dnsConfig !== undefined ? 'DNS_HTTP' : 'HTTP'),
    ...(r?.dnsConfig !== undefined ? { DnsConfig: { NamespaceId: namespaceId(svc.namespace), ...r.dnsConfig } } : {}),
    ...(r?.healthCheckConfig !== undefined ? { HealthCheckConfig: r.healthCheckConfig } : {}),
    ...(r?.healthCheckCustomConfig !== undefined ? { HealthCheckCustomConfig: r.healthCheckCustomConfig } : {}),
    CreateDate: epochSeconds(svc.createdAt),
    ...(r?.creatorRequestId !== undefined ? { CreatorRequestId: r.creatorRequestId } : {}),
  };
}

/** The service config with the DNS TTL Cloud Map asked for (the smallest of its records'). */
function withDnsTtl(svc: Service | undefined, records: ReadonlyArray<{ TTL: number }>): Record<string, unknown> {
  return { ...(svc?.config ?? {}), dns: { ttl: Math.min(...records.map((r) => r.TTL)) } };
}

const createService: CloudMapOperation = {
  write: true,
  async run(input, ctx) {
    const req = parseWith(createSchema, input);
    const nsId = req.NamespaceId ?? req.DnsConfig?.NamespaceId;
    if (nsId === undefined) throw invalidInput('NamespaceId: is required: the id of the namespace the service is in');
    const ns = findNamespace(ctx, nsId);
    const target = { namespace: ns.name, service: req.Name };
    ctx.caller.require('service:write', target);
    if (req.HealthCheckConfig !== undefined && req.HealthCheckCustomConfig !== undefined) {
      throw invalidInput('HealthCheckConfig: give HealthCheckConfig or HealthCheckCustomConfig, not both');
    }
    const nsType = ctx.store.namespace(ns.name)?.type ?? 'HTTP';
    if (req.DnsConfig !== undefined && nsType === 'HTTP') throw invalidInput(`DnsConfig: namespace ${ns.name} is an HTTP namespace, which has no DNS records; leave DnsConfig out`);
    const existing = ctx.registry.getService(ns.name, req.Name);
    if (existing !== undefined) {
      const r = ctx.store.service(ns.name, req.Name);
      if (req.CreatorRequestId !== undefined && r?.creatorRequestId === req.CreatorRequestId) return { Service: serviceJson(ctx, existing) };
      throw new CloudMapError('ServiceAlreadyExists', `service ${req.Name} already exists in namespace ${ns.name}`, 'already_exists', {
        ServiceId: serviceId(ns.name, req.Name),
        ...(r?.creatorRequestId !== undefined ? { CreatorRequestId: r.creatorRequestId } : {}),
      });
    }
    if (req.CreatorRequestId !== undefined && ctx.store.serviceByRequest(req.CreatorRequestId) !== undefined) {
      throw new CloudMapError('DuplicateRequest', `CreatorRequestId ${req.CreatorRequestId} was already used to create another service`, 'already_exists');
    }
    const config = req.DnsConfig !== undefined ? withDnsTtl(undefined, req.DnsConfig.DnsRecords) : undefined;
    const svc = await ctx.registry.write(() => ctx.registry.putService(ns.name, req.Name, config));
    const record: ServiceRecord = {
      description: req.Description ?? '',
      ...(req.CreatorRequestId !== undefined ? { creatorRequestId: req.CreatorRequestId } : {}),
      ...(req.Type !== undefined ? { type: req.Type } : {}),
      ...(req.DnsConfig !== undefined ? { dnsConfig: { ...(req.DnsConfig.RoutingPolicy !== undefined ? { RoutingPolicy: req.DnsConfig.RoutingPolicy } : {}), DnsRecords: req.DnsConfig.DnsRecords } } : {}),
      ...(req.HealthCheckConfig !== undefined ? { healthCheckConfig: req.HealthCheckConfig } : {}),
      ...(req.HealthCheckCustomConfig !== undefined ? { healthCheckCustomConfig: req.HealthCheckCustomConfig } : {}),
    };
    ctx.store.setService(ns.name, req.Name, record);
    ctx.store.setTags(serviceId(ns.name, req.Name), tagMap(req.Tags));
    return { Service: serviceJson(ctx, svc) };
  },
};

const getService: CloudMapOperation = {
  write: false,
  run(input, ctx) {
    const req = parseWith(byId, input);
    const svc = checkedService(ctx, req.Id, 'service:read');
    return { Service: serviceJson(ctx, svc) };
  },
};

const listSchema = listInput(['NAMESPACE_ID', 'RESOURCE_OWNER']);

const listServices: CloudMapOperation = {
  write: false,
  run(input, ctx) {
    const req = parseWith(listSchema, input);
    const reads = ctx.caller.reads;
    const filters = (req.Filters ?? []).filter((f) => f.Name === 'NAMESPACE_ID');
    const visible = ctx.registry
      .listServices()
      .filter((s) => (reads === undefined || reads.service(s.namespace, s.name)) && filters.every((f) => matches(namespaceId(s.namespace), f)));
    const p = page(visible, (s) => serviceId(s.namespace, s.name), req.NextToken, req.MaxResults ?? 100);
    return { Services: p.items.map((s) => serviceJson(ctx, s)), ...(p.nextToken !== undefined ? { NextToken: p.nextToken } : {}) };
  },
};

const updateSchema = z.object({
  Id: idSchema,
  Service: z.object({
    Description: str(1024).optional(),
    DnsConfig: z.object({ DnsRecords: dnsRecords }).optional(),
    HealthCheckConfig: healthCheckConfig.optional(),
  }),
});

const updateService: CloudMapOperation = {
  write: true,
  async run(input, ctx) {
    const req = parseWith(updateSchema, input);
    const svc = checkedService(ctx, req.Id, 'service:write');
    const old = ctx.store.service(svc.namespace, svc.name) ?? { description: '' };
    const update = req.Service;
    if (update.DnsConfig !== undefined && old.dnsConfig === undefined) throw invalidInput('Service.DnsConfig: the service was created without DNS records, and they cannot be added later');
    if (update.HealthCheckConfig !== undefined && old.healthCheckCustomConfig !== undefined) throw invalidInput('Service.HealthCheckConfig: the service has a custom health check, which cannot be changed to HealthCheckConfig');
    if (update.DnsConfig !== undefined) {
      const config = withDnsTtl(svc, update.DnsConfig.DnsRecords);
      await ctx.registry.write(() => ctx.registry.putService(svc.namespace, svc.name, config));
    }
    ctx.store.setService(svc.namespace, svc.name, {
      ...old,
      ...(update.Description !== undefined ? { description: update.Description } : {}),
      ...(update.DnsConfig !== undefined ? { dnsConfig: { ...old.dnsConfig, DnsRecords: update.DnsConfig.DnsRecords } } : {}),
      ...(update.HealthCheckConfig !== undefined ? { healthCheckConfig: update.HealthCheckConfig } : {}),
    });
    const op = ctx.store.recordOperation('UPDATE_SERVICE', { namespace: svc.namespace, service: svc.name });
    return { OperationId: op.id };
  },
};

const deleteService: CloudMapOperation = {
  write: true,
  async run(input, ctx) {
    const req = parseWith(byId, input);
    const svc = checkedService(ctx, req.Id, 'service:write');
    await ctx.registry.write(() => ctx.registry.deleteService(svc.namespace, svc.name));
    return {};
  },
};

export const SERVICE_OPERATIONS: Readonly<Record<string, CloudMapOperation>> = {
  CreateService: createService,
  GetService: getService,
  ListServices: listServices,
  UpdateService: updateService,
  DeleteService: deleteService,
};

/** Whether the service takes UpdateInstanceCustomHealthStatus: one made elsewhere reports health its own way, so yes. */
export function hasCustomHealth(ctx: CloudMapContext, svc: Service): boolean {
  const r = ctx.store.service(svc.namespace, svc.name);
  return r === undefined || r.healthCheckCustomConfig !== undefined;
}
