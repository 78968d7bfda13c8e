import { notFound } from '../common/errors.js';
import { reply } from '../http/response.js';
import { namespaceNameSchema } from '../model/names.js';
import type { Namespace } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import { objectBody, pathParam, type RestContext, type RestRoute } from './rest-context.js';
import { namespaceToJson } from './rest-resource-json.js';

/** The namespace named in the path, which must exist. */
export function requireNamespace(registry: Registry, ctx: RestContext, action?: 'namespace:read' | 'namespace:write'): Namespace {
  const name = pathParam(ctx, 'namespace', namespaceNameSchema);
  // Checked before the lookup: a caller without the right learns nothing, not even whether it exists.
  if (action !== undefined) ctx.caller.require(action, { namespace: name });
  const ns = registry.getNamespace(name);
  if (ns === undefined) throw notFound(`namespace ${name} does not exist`, 'namespace');
  return ns;
}

/** Namespaces (Cloud Map's top level): list, create, get, delete (refused while services remain). */
export function namespaceRoutes(registry: Registry): RestRoute[] {
  const toJson = (ns: Namespace) => namespaceToJson(ns, registry.listServices(ns.name).length);
  return [
    {
      method: 'GET',
      pattern: '/api/v1/namespaces',
      handle(ctx) {
        const reads = ctx.caller.reads;
        const all = registry.listNamespaces().filter((ns) => reads === undefined || reads.namespace(ns.name));
        return reply(200, { data: { namespaces: all.map(toJson), count: all.length } });
      },
    },
    {
      method: 'POST',
      pattern: '/api/v1/namespaces',
      async handle(ctx) {
        // {"name": "shop.local", "description": "..."}; the registry validates and rejects unknown keys.
        const body = await objectBody(ctx, true);
        ctx.caller.require('namespace:write', typeof body.name === 'string' ? { namespace: body.name } : {});
        const ns = await registry.write(() => registry.createNamespace(body));
        return reply(201, { data: toJson(ns) }, { location: `/api/v1/namespaces/${encodeURIComponent(ns.name)}` });
      },
    },
    {
      method: 'GET',
      pattern: '/api/v1/namespaces/{namespace}',
      handle(ctx) {
        return reply(200, { data: toJson(requireNamespace(registry, ctx, 'namespace:read')) });
      },
    },
    {
      method: 'DELETE',
      pattern: '/api/v1/namespaces/{namespace}',
      async handle(ctx) {
        const ns = requireNamespace(registry, ctx, 'namespace:write');
        return reply(200, { data: namespaceToJson(await registry.write(() => registry.deleteNamespace(ns.name)), 0) });
      },
    },
  ];
}
