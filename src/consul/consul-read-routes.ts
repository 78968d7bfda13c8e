/**
 * The catalog and health reads. Each is a blocking query (consul-blocking.ts) on what it
 * answers about; a service the caller may not read is answered as one that does not exist
 * (an empty list whose index never moves), so neither its body nor its index tells it exists.
 */
import type { Instance } from '../registry/model.js';
import { NODES_TOPIC, namespaceTopic, parseBlocking, serviceTopic } from './consul-blocking.js';
import { mayRead, namespaceOf, type ConsulContext, type ConsulReply, type ConsulRoute } from './consul-context.js';
import { parseFilter } from './consul-filter.js';
import { catalogEntry, checksOf, healthEntry, nodeEntry } from './consul-json.js';
import { tagsOf } from './consul-metadata.js';

const HIDDEN_TOPIC = 'hidden';

/** Waits as the query asks, then answers with `read()` and the topic's index. */
async function blockingRead(ctx: ConsulContext, topic: string, read: () => unknown): Promise<ConsulReply> {
  const { index, waitMs } = parseBlocking(ctx.query);
  const identity = ctx.caller.identity;
  await ctx.blocking.wait(topic, index, waitMs, `${identity.kind}:${identity.name}`, ctx.gone);
  return { body: read(), index: ctx.blocking.indexOf(topic) };
}

/** The service's instances the query selects: `tag` (each must be carried) and `filter`. */
function selected(ctx: ConsulContext, namespace: string): Instance[] {
  const tags = ctx.query.getAll('tag');
  const filter = parseFilter(ctx.query.get('filter'));
  return ctx.registry
    .instancesOf(namespace, ctx.param)
    .filter((i) => tags.every((t) => tagsOf(i).includes(t)) && (filter === undefined || filter(i)))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * A read of one service's instances (what `tag` and `filter` select), in the shape `entries`
 * gives them; a service the caller may not read is an empty list on a topic that never moves.
 */
function serviceRead(entries: (instances: Instance[], ctx: ConsulContext) => unknown[]): ConsulRoute {
  return {
    method: 'GET',
    write: false,
    run(ctx) {
      const ns = namespaceOf(ctx);
      const visible = mayRead(ctx, ns, ctx.param);
      // A bad filter is a 400 before any wait.
      parseFilter(ctx.query.get('filter'));
      return blockingRead(ctx, visible ? serviceTopic(ns, ctx.param) : HIDDEN_TOPIC, () => (visible ? entries(selected(ctx, ns), ctx) : []));
    },
  };
}

const healthService = serviceRead((instances, ctx) => {
  const passing = ctx.query.has('passing') && ctx.query.get('passing') !== 'false' && ctx.query.get('passing') !== '0';
  return instances.filter((i) => !passing || checksOf(i).every((c) => c.Status === 'passing')).map((i) => healthEntry(i, ctx.site));
});

const catalogService = serviceRead((instances, ctx) => instances.map((i) => catalogEntry(i, ctx.site)));

const catalogServices: ConsulRoute = {
  method: 'GET',
  write: false,
  run(ctx) {
    const ns = namespaceOf(ctx);
    return blockingRead(ctx, mayRead(ctx, ns) ? namespaceTopic(ns) : HIDDEN_TOPIC, () => {
      const out: Record<string, string[]> = {};
      for (const svc of ctx.registry.listServices(ns)) {
        if (!mayRead(ctx, ns, svc.name)) continue;
        out[svc.name] = [...new Set(ctx.registry.instancesOf(ns, svc.name).flatMap(tagsOf))].sort();
      }
      return out;
    });
  },
};

const catalogNodes: ConsulRoute = {
  method: 'GET',
  write: false,
  run(ctx) {
    return blockingRead(ctx, NODES_TOPIC, () => {
      const addresses = new Set<string>();
      for (const inst of ctx.registry.allInstances()) if (mayRead(ctx, inst.namespace, inst.service)) addresses.add(inst.address);
      return [...addresses].sort().map((a) => nodeEntry(a, ctx.site));
    });
  },
};

export const READ_ROUTES: Readonly<Record<string, ConsulRoute>> = {
  'health/service/:': healthService,
  'catalog/service/:': catalogService,
  'catalog/services': catalogServices,
  'catalog/nodes': catalogNodes,
};
