import type { Caller } from '../auth/caller.js';
import { invalidArgument, notFound } from '../common/errors.js';
import { reply } from '../http/response.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { Health } from '../model/health.js';
import type { Instance } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import { instanceIdSchema } from '../registry/validation.js';
import { checkInstance, readableOnly, registrationCheck, visibleServices } from './access-rules.js';
import { objectBody, onlyKeys, pathParam, type RestRoute } from './rest-context.js';
import { parseHealthList, parseHealthWord } from './rest-health-state.js';
import { instanceToJson } from './rest-instance-json.js';
import { registerBatch } from './registration-batch.js';
import { inCallerTerms, registrationFromBody } from './rest-registration.js';
import { serviceFilter } from './rest-service-filter.js';

/**
 * Instances, which AI-CORE calls "service registrations": register, list, get, deregister,
 * heartbeat and health. Each validates all its input before it touches the registry.
 * `chargeBatch`: a batch of n registrations counts as n writes against the caller's write limit.
 */
export function instanceRoutes(registry: Registry, metrics: HubMetrics, chargeBatch: (caller: Caller, writes: number) => void = () => undefined): RestRoute[] {
  return [
    {
      method: 'POST',
      pattern: '/api/v1/services',
      async handle(ctx) {
        const body = await objectBody(ctx, true);
        const { input, serviceField } = registrationFromBody(body);
        const replaced = typeof input.id === 'string' && registry.getInstance(input.id) !== undefined;
        let inst: Instance;
        try {
          inst = await registry.write(() => registry.register(input, registrationCheck(ctx.caller)));
        } catch (err) {
          throw inCallerTerms(err, serviceField);
        }
        metrics.registrations.inc({ api: 'rest' });
        const headers = { location: `/api/v1/services/${encodeURIComponent(inst.id)}` };
        return reply(replaced ? 200 : 201, { data: instanceToJson(inst) }, headers);
      },
    },
    {
      method: 'POST',
      pattern: '/api/v1/services:batch',
      async handle(ctx) {
        const body = await objectBody(ctx, true);
        onlyKeys(body, ['items']);
        const results = await registry.write(() =>
          registerBatch(registry, body.items, registrationCheck(ctx.caller), (item, at) => {
            if (item === null || typeof item !== 'object' || Array.isArray(item)) throw invalidArgument(at, `${at}: must be a JSON object (one registration)`);
            const { input, serviceField } = registrationFromBody(item as Record<string, unknown>);
            return { input, inCallerTerms: (err) => inCallerTerms(err, serviceField) };
          }),
        );
        chargeBatch(ctx.caller, results.length);
        const registered = results.filter((r) => r.instance !== undefined).length;
        if (registered > 0) metrics.registrations.inc({ api: 'rest' }, registered);
        return reply(200, {
          data: {
            results: results.map((r) => (r.instance !== undefined ? { index: r.index, data: instanceToJson(r.instance) } : { index: r.index, ...r.error.toJSON() })),
            registered,
            failed: results.length - registered,
          },
        });
      },
    },
    {
      method: 'GET',
      pattern: '/api/v1/services',
      query: { names: ['namespace', 'service_name', 'health'] },
      handle(ctx) {
        const { service, namespace } = serviceFilter(ctx.query);
        const healthFilter = ctx.query.string('health');
        const health: Health[] | undefined = healthFilter === undefined ? undefined : parseHealthList(healthFilter, 'health');
        const readable = readableOnly(ctx.caller, namespace, service !== undefined && namespace !== undefined ? service : undefined);
        const found = registry.discover({
          healthyOnly: false,
          ...visibleServices(readable),
          ...(namespace !== undefined ? { namespace } : {}),
          ...(service !== undefined ? { service } : {}),
          ...(health !== undefined ? { health } : {}),
        });
        return reply(200, { data: { services: found.map(instanceToJson), count: found.length, registry_version: registry.version } });
      },
    },
    {
      method: 'GET',
      pattern: '/api/v1/services/{id}',
      handle(ctx) {
        const id = pathParam(ctx, 'id', instanceIdSchema);
        const inst = checkInstance(registry, ctx.caller, id, 'service:read');
        if (inst === undefined) throw notFound(`instance ${id} is not registered`, 'id');
        return reply(200, { data: instanceToJson(inst) });
      },
    },
    {
      method: 'DELETE',
      pattern: '/api/v1/services/{id}',
      async handle(ctx) {
        const id = pathParam(ctx, 'id', instanceIdSchema);
        checkInstance(registry, ctx.caller, id, 'instance:write');
        return reply(200, { data: instanceToJson(await registry.write(() => registry.deregister(id))) });
      },
    },
    {
      method: 'POST',
      pattern: '/api/v1/services/{id}/heartbeat',
      routine: true,
      async handle(ctx) {
        const id = pathParam(ctx, 'id', instanceIdSchema);
        checkInstance(registry, ctx.caller, id, 'instance:write');
        // AI-CORE's body: {"service_id": "...", "status": "healthy"}; both optional here.
        const body = await objectBody(ctx, false);
        let health: Health | undefined;
        if (body !== undefined) {
          onlyKeys(body, ['service_id', 'status']);
          if (body.service_id !== undefined && body.service_id !== id) {
            throw invalidArgument('service_id', `service_id: must match the id in the path (${JSON.stringify(id)}) when given`);
          }
          if (body.status !== undefined) health = parseHealthWord(body.status, 'status');
        }
        return reply(200, { data: instanceToJson(await registry.write(() => registry.heartbeat(id, health))) });
      },
    },
    {
      method: 'PUT',
      pattern: '/api/v1/services/{id}/health',
      async handle(ctx) {
        const id = pathParam(ctx, 'id', instanceIdSchema);
        checkInstance(registry, ctx.caller, id, 'instance:write');
        const body = await objectBody(ctx, true);
        onlyKeys(body, ['health']);
        if (body.health === undefined) throw invalidArgument('health', 'health: required, e.g. {"health": "DRAINING"}');
        const health = parseHealthWord(body.health, 'health');
        return reply(200, { data: instanceToJson(await registry.write(() => registry.reportHealth(id, health))) });
      },
    },
    {
      method: 'PUT',
      pattern: '/api/v1/services/{id}/weight',
      async handle(ctx) {
        const id = pathParam(ctx, 'id', instanceIdSchema);
        checkInstance(registry, ctx.caller, id, 'instance:write');
        const body = await objectBody(ctx, true);
        onlyKeys(body, ['weight']);
        if (body.weight === undefined) throw invalidArgument('weight', 'weight: required, an integer from 1 to 1000, e.g. {"weight": 50}');
        return reply(200, { data: instanceToJson(await registry.write(() => registry.setWeight(id, body.weight))) });
      },
    },
  ];
}
