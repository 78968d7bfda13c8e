import { notFound } from '../common/errors.js';
import { reply } from '../http/response.js';
import { serviceKey } from '../model/names.js';
import { namespaceNameSchema, serviceNameSchema } from '../model/names.js';
import { type Service } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import { objectBody, pathParam, type RestContext, type RestRoute } from './rest-context.js';
import { instanceToJson } from './rest-instance-json.js';
import { requireNamespace } from './rest-namespace-routes.js';
import { serviceToJson } from './rest-resource-json.js';

const SERVICE = '/api/v1/namespaces/{namespace}/services/{service}';

/**
 * Services and their configs (lb policy, circuit breakers, outlier detection, retries, lease
 * defaults). PUT replaces the whole config (omitted fields take their defaults) and creates the
 * service, and its namespace, if needed, as a registration would.
 */
export function serviceRoutes(registry: Registry): RestRoute[] {
  const toJson = (svc: Service) => serviceToJson(svc, registry.instancesOf(svc.namespace, svc.name).length);
  const names = (ctx: RestContext) => ({
    namespace: pathParam(ctx, 'namespace', namespaceNameSchema),
    service: pathParam(ctx, 'service', serviceNameSchema),
  });
  /** The service in the path, checked for `action` before its existence is told. */
  const requireService = (ctx: RestContext, action: 'service:read' | 'service:write'): Service => {
    const { namespace, service } = names(ctx);
    ctx.caller.require(action, { namespace, service });
    const ns = requireNamespace(registry, ctx);
    const svc = registry.getService(ns.name, service);
    if (svc === undefined) throw notFound(`service ${serviceKey(service, ns.name)} does not exist`, 'service');
    return svc;
  };
  return [
    {
      method: 'GET',
      pattern: '/api/v1/namespaces/{namespace}/services',
      handle(ctx) {
        const ns = requireNamespace(registry, ctx, 'namespace:read');
        const reads = ctx.caller.reads;
        const all = registry.listServices(ns.name).filter((svc) => reads === undefined || reads.service(svc.namespace, svc.name));
        return reply(200, { data: { services: all.map(toJson), count: all.length } });
      },
    },
    {
      method: 'GET',
      pattern: SERVICE,
      handle(ctx) {
        return reply(200, { data: toJson(requireService(ctx, 'service:read')) });
      },
    },
    {
      method: 'PUT',
      pattern: SERVICE,
      async handle(ctx) {
        const { namespace, service } = names(ctx);
        ctx.caller.require('service:write', { namespace, service });
        const body = await objectBody(ctx, true);
        // Validated here first so errors name the body's own keys (`lb_policy`, not `config.lb_policy`).
        registry.parseServiceConfig(body, '');
        const existed = registry.getService(namespace, service) !== undefined;
        const svc = await registry.write(() => registry.putService(namespace, service, body));
        const headers = { location: `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}` };
        return reply(existed ? 200 : 201, { data: toJson(svc) }, headers);
      },
    },
    {
      method: 'DELETE',
      pattern: SERVICE,
      async handle(ctx) {
        const svc = requireService(ctx, 'service:write');
        return reply(200, { data: serviceToJson(await registry.write(() => registry.deleteService(svc.namespace, svc.name)), 0) });
      },
    },
    {
      method: 'GET',
      pattern: `${SERVICE}/instances`,
      handle(ctx) {
        const svc = requireService(ctx, 'service:read');
        const all = registry.instancesOf(svc.namespace, svc.name).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        return reply(200, { data: { instances: all.map(instanceToJson), count: all.length } });
      },
    },
  ];
}
