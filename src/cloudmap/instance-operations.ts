/**
 * Instances: RegisterInstance, DeregisterInstance, GetInstance, ListInstances,
 * GetInstancesHealthStatus and UpdateInstanceCustomHealthStatus, as registry calls. A Cloud Map
 * instance has no lease (AWS keeps instances until they are deregistered), and its id is its
 * registry id: instance ids are unique across the hub, so one already registered in another
 * service is refused rather than moved.
 */
import { z } from 'zod';
import { OutriggerError } from '../common/errors.js';
import { parseWith } from '../model/parse-input.js';
import type { Instance, Service } from '../registry/model.js';
import { instanceIdSchema } from '../registry/validation.js';
import { checkedService, creatorRequestId, findService, idSchema, maxResults, nextToken, type CloudMapContext, type CloudMapOperation } from './cloudmap-context.js';
import { cloudMapHealth, instanceAttributes, instanceFields } from './cloudmap-attributes.js';
import { CloudMapError, instanceNotFound, invalidInput } from './cloudmap-errors.js';
import { page } from './cloudmap-ids.js';
import { hasCustomHealth } from './service-operations.js';

const attributesSchema = z
  .record(
    z.string().min(1, { error: 'keys must be 1 to 255 characters' }).max(255, { error: 'keys must be 1 to 255 characters' }),
    z.string({ error: 'values must be strings' }).max(1024, { error: 'values must be at most 1024 characters' }),
    { error: 'must be an object of string values' },
  )
  .refine((a) => Object.keys(a).length <= 30, { error: 'must hold at most 30 attributes' });

const instanceRef = z.object({ ServiceId: idSchema, InstanceId: instanceIdSchema });

/** The instance with this id in this service; InstanceNotFound otherwise (also when it is in another service). */
function instanceIn(ctx: CloudMapContext, svc: Service, id: string, serviceIdText: string): Instance {
  const inst = ctx.registry.getInstance(id);
  if (inst === undefined || inst.namespace !== svc.namespace || inst.service !== svc.name) throw instanceNotFound(id, serviceIdText);
  return inst;
}

const registerInstance: CloudMapOperation = {
  write: true,
  async run(input, ctx) {
    const req = parseWith(instanceRef.extend({ CreatorRequestId: creatorRequestId, Attributes: attributesSchema }), input);
    const svc = findService(ctx, req.ServiceId);
    const target = { namespace: svc.namespace, service: svc.name };
    ctx.caller.require('instance:write', target);
    const fields = instanceFields(req.Attributes);
    const existing = ctx.registry.getInstance(req.InstanceId);
    if (existing !== undefined && (existing.namespace !== svc.namespace || existing.service !== svc.name)) {
      ctx.caller.require('instance:write', existing);
      throw new CloudMapError('ResourceInUse', `instance id ${req.InstanceId} is registered in service ${existing.service}.${existing.namespace}; instance ids are unique across the hub`, 'failed_precondition');
    }
    if (existing !== undefined && existing.source !== 'self') {
      throw new CloudMapError('ResourceInUse', `instance ${req.InstanceId} comes from the hub's ${existing.source} source, which manages it`, 'failed_precondition');
    }
    try {
      await ctx.registry.write(() => ctx.registry.register({
        id: req.InstanceId,
        service: svc.name,
        namespace: svc.namespace,
        address: fields.address,
        port: fields.port,
        metadata: fields.metadata,
        // A re-registration updates the attributes and keeps the health reported since.
        health: existing?.reportedHealth ?? fields.initialHealth ?? 'HEALTHY',
        ttl: 0,
      }));
    } catch (err) {
      if (err instanceof OutriggerError && err.code === 'invalid_argument') throw invalidInput(`Attributes: ${err.message}`);
      throw err;
    }
    ctx.registered();
    ctx.store.setInstanceRequest(req.InstanceId, req.CreatorRequestId);
    const op = ctx.store.recordOperation('REGISTER_INSTANCE', { namespace: svc.namespace, service: svc.name, instance: req.InstanceId });
    return { OperationId: op.id };
  },
};

const deregisterInstance: CloudMapOperation = {
  write: true,
  async run(input, ctx) {
    const req = parseWith(instanceRef, input);
    const svc = checkedService(ctx, req.ServiceId, 'instance:write');
    instanceIn(ctx, svc, req.InstanceId, req.ServiceId);
    await ctx.registry.write(() => ctx.registry.deregister(req.InstanceId));
    const op = ctx.store.recordOperation('DEREGISTER_INSTANCE', { namespace: svc.namespace, service: svc.name, instance: req.InstanceId });
    return { OperationId: op.id };
  },
};

const getInstance: CloudMapOperation = {
  write: false,
  run(input, ctx) {
    const req = parseWith(instanceRef, input);
    const svc = checkedService(ctx, req.ServiceId, 'service:read');
    const inst = instanceIn(ctx, svc, req.InstanceId, req.ServiceId);
    const creator = ctx.store.instanceRequest(inst.id);
    return { Instance: { Id: inst.id, ...(creator !== undefined ? { CreatorRequestId: creator } : {}), Attributes: instanceAttributes(inst) } };
  },
};

const listInstances: CloudMapOperation = {
  write: false,
  run(input, ctx) {
    const req = parseWith(z.object({ ServiceId: idSchema, NextToken: nextToken, MaxResults: maxResults(100) }), input);
    const svc = checkedService(ctx, req.ServiceId, 'service:read');
    const p = page(ctx.registry.instancesOf(svc.namespace, svc.name), (i) => i.id, req.NextToken, req.MaxResults ?? 100);
    return { Instances: p.items.map((i) => ({ Id: i.id, Attributes: instanceAttributes(i) })), ...(p.nextToken !== undefined ? { NextToken: p.nextToken } : {}) };
  },
};

const healthStatus: CloudMapOperation = {
  write: false,
  run(input, ctx) {
    const req = parseWith(
      z.object({ ServiceId: idSchema, Instances: z.array(instanceIdSchema).min(1, { error: 'must name at least one instance, or be left out' }).max(1000).optional(), NextToken: nextToken, MaxResults: maxResults(100) }),
      input,
    );
    const svc = checkedService(ctx, req.ServiceId, 'service:read');
    const instances = req.Instances === undefined ? ctx.registry.instancesOf(svc.namespace, svc.name) : req.Instances.map((id) => instanceIn(ctx, svc, id, req.ServiceId));
    const p = page(instances, (i) => i.id, req.NextToken, req.MaxResults ?? 100);
    return { Status: Object.fromEntries(p.items.map((i) => [i.id, cloudMapHealth(i.health)])), ...(p.nextToken !== undefined ? { NextToken: p.nextToken } : {}) };
  },
};

const updateCustomHealth: CloudMapOperation = {
  write: true,
  async run(input, ctx) {
    const req = parseWith(instanceRef.extend({ Status: z.enum(['HEALTHY', 'UNHEALTHY'], { error: 'must be HEALTHY or UNHEALTHY' }) }), input);
    const svc = checkedService(ctx, req.ServiceId, 'instance:write');
    instanceIn(ctx, svc, req.InstanceId, req.ServiceId);
    if (!hasCustomHealth(ctx, svc)) {
      throw new CloudMapError('CustomHealthNotFound', `service ${req.ServiceId} was created without HealthCheckCustomConfig, so its instances take no custom health status`, 'failed_precondition');
    }
    await ctx.registry.write(() => ctx.registry.reportHealth(req.InstanceId, req.Status));
    return {};
  },
};

export const INSTANCE_OPERATIONS: Readonly<Record<string, CloudMapOperation>> = {
  RegisterInstance: registerInstance,
  DeregisterInstance: deregisterInstance,
  GetInstance: getInstance,
  ListInstances: listInstances,
  GetInstancesHealthStatus: healthStatus,
  UpdateInstanceCustomHealthStatus: updateCustomHealth,
};
