/**
 * DiscoverInstances and DiscoverInstancesRevision: by namespace and service name, as clients
 * resolve at run time; `service:read`. The revision is the registry version of the service's
 * last instance change, so it moves whenever the answer could.
 */
import { z } from 'zod';
import { namespaceNameSchema, serviceNameSchema } from '../model/names.js';
import { parseWith } from '../model/parse-input.js';
import type { Instance } from '../registry/model.js';
import { maxResults, type CloudMapContext, type CloudMapOperation } from './cloudmap-context.js';
import { cloudMapHealth, instanceAttributes } from './cloudmap-attributes.js';
import { namespaceNotFound, serviceNotFound } from './cloudmap-errors.js';

const HEALTH_FILTERS = ['HEALTHY', 'UNHEALTHY', 'ALL', 'HEALTHY_OR_ELSE_ALL'] as const;
const parameters = z.record(z.string().max(255), z.string({ error: 'values must be strings' }).max(1024), { error: 'must be an object of string values' });

const target = z.object({ NamespaceName: namespaceNameSchema, ServiceName: serviceNameSchema });

/** The service named, once the caller may read it (a refusal says the same whether it exists or not). */
function service(ctx: CloudMapContext, namespace: string, name: string): void {
  ctx.caller.require('service:read', { namespace, service: name });
  if (ctx.registry.getNamespace(namespace) === undefined) throw namespaceNotFound(namespace);
  if (ctx.registry.getService(namespace, name) === undefined) throw serviceNotFound(`${name} in namespace ${namespace}`);
}

const discoverInstances: CloudMapOperation = {
  write: false,
  run(input, ctx) {
    const req = parseWith(
      target.extend({
        MaxResults: maxResults(1000),
        QueryParameters: parameters.optional(),
        OptionalParameters: parameters.optional(),
        HealthStatus: z.enum(HEALTH_FILTERS, { error: `must be one of ${HEALTH_FILTERS.join(', ')}` }).optional(),
      }),
      input,
    );
    service(ctx, req.NamespaceName, req.ServiceName);
    const all = ctx.registry.instancesOf(req.NamespaceName, req.ServiceName).map((inst) => ({ inst, attributes: instanceAttributes(inst), health: cloudMapHealth(inst.health) }));
    const has = (attributes: Record<string, string>, wanted: Record<string, string> | undefined): boolean =>
      wanted === undefined || Object.entries(wanted).every(([k, v]) => attributes[k] === v);
    const wantedHealth = req.HealthStatus ?? 'HEALTHY';
    const healthy = all.filter((i) => i.health === 'HEALTHY');
    const byHealth =
      wantedHealth === 'ALL' ? all : wantedHealth === 'HEALTHY_OR_ELSE_ALL' ? (healthy.length > 0 ? healthy : all) : all.filter((i) => i.health === wantedHealth);
    const queried = byHealth.filter((i) => has(i.attributes, req.QueryParameters));
    // Optional parameters narrow the answer only when some instance matches them too.
    const optional = queried.filter((i) => has(i.attributes, req.OptionalParameters));
    const chosen = (optional.length > 0 ? optional : queried).sort((a, b) => byId(a.inst, b.inst)).slice(0, req.MaxResults ?? 100);
    return {
      Instances: chosen.map((i) => ({ InstanceId: i.inst.id, NamespaceName: req.NamespaceName, ServiceName: req.ServiceName, HealthStatus: i.health, Attributes: i.attributes })),
      InstancesRevision: ctx.store.revision(req.NamespaceName, req.ServiceName),
    };
  },
};

const discoverRevision: CloudMapOperation = {
  write: false,
  run(input, ctx) {
    const req = parseWith(target, input);
    service(ctx, req.NamespaceName, req.ServiceName);
    return { InstancesRevision: ctx.store.revision(req.NamespaceName, req.ServiceName) };
  },
};

function byId(a: Instance, b: Instance): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export const DISCOVERY_OPERATIONS: Readonly<Record<string, CloudMapOperation>> = {
  DiscoverInstances: discoverInstances,
  DiscoverInstancesRevision: discoverRevision,
};
