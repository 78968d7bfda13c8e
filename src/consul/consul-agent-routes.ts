/**
 * The agent routes: register and deregister a service, update a TTL check, and the small
 * `agent/self` and `status` answers Consul clients call on start. Every write goes through
 * `caller.require('instance:write')` on the instance's service before it touches the registry.
 */
import { OutriggerError } from '../common/errors.js';
import type { Instance } from '../registry/model.js';
import { mayRead, namespaceOf, type ConsulContext, type ConsulRoute } from './consul-context.js';
import { badRequest, notFoundError } from './consul-errors.js';
import { CHECK_STATUSES, storedChecks, type CheckStatus } from './consul-metadata.js';
import { parseRegistration, registrationInput, reregistration } from './consul-register.js';

/** The instance with this id, when the caller may see it; otherwise as if there were none. */
function visibleInstance(ctx: ConsulContext, id: string, missing: string): Instance {
  const inst = ctx.registry.getInstance(id);
  if (inst === undefined || !mayRead(ctx, inst.namespace, inst.service)) throw notFoundError(missing);
  return inst;
}

const register: ConsulRoute = {
  method: 'PUT',
  write: true,
  async run(ctx) {
    const reg = parseRegistration(ctx.body);
    const namespace = namespaceOf(ctx, reg);
    let input: Record<string, unknown>;
    try {
      input = registrationInput(reg, namespace, ctx.peer);
    } catch (err) {
      throw badRequest(`Invalid check: ${(err as Error).message}`);
    }
    try {
      await ctx.registry.write(() => ctx.registry.register(input, (target) => ctx.caller.require('instance:write', { namespace: target.namespace, service: target.service })));
    } catch (err) {
      // The registry names its own fields; say which Consul field carried them.
      if (err instanceof OutriggerError && err.code === 'invalid_argument') throw badRequest(`Invalid service: ${consulField(err.message)}`);
      throw err;
    }
    ctx.registered();
    return { body: null };
  },
};

const FIELDS: Record<string, string> = { id: 'ID', service: 'Name', address: 'Address', port: 'Port', weight: 'Weights.Passing', metadata: 'Meta (with Tags and Checks, kept as metadata)' };

function consulField(message: string): string {
  const m = /^([a-z_]+)(.*)$/s.exec(message);
  return m !== null && FIELDS[m[1]!] !== undefined ? `${FIELDS[m[1]!]}${m[2]}` : message;
}

const deregister: ConsulRoute = {
  method: 'PUT',
  write: true,
  async run(ctx) {
    const inst = visibleInstance(ctx, ctx.param, `Unknown service ID ${JSON.stringify(ctx.param)}. Ensure that the service ID is passed, not the service name.`);
    ctx.caller.require('instance:write', { namespace: inst.namespace, service: inst.service });
    await ctx.registry.write(() => ctx.registry.deregister(inst.id));
    return { body: null };
  },
};

/** The instance holding the check with this id (a scan: the registry is the only store). */
function findCheck(ctx: ConsulContext, checkId: string): Instance {
  for (const inst of ctx.registry.allInstances()) {
    if (storedChecks(inst).some((c) => c.id === checkId) && mayRead(ctx, inst.namespace, inst.service)) return inst;
  }
  throw notFoundError(`Unknown check ID ${JSON.stringify(checkId)}. Ensure that the check ID is passed, not the check name.`);
}

/**
 * Sets a TTL check's status, which renews the instance's lease (as Consul resets a TTL check's
 * timer). An unchanged status on a live lease is a quiet renewal: readers are not woken.
 */
async function updateCheck(ctx: ConsulContext, status: CheckStatus, output: string): Promise<void> {
  const inst = findCheck(ctx, ctx.param);
  ctx.caller.require('instance:write', { namespace: inst.namespace, service: inst.service });
  const checks = storedChecks(inst);
  const check = checks.find((c) => c.id === ctx.param)!;
  if (check.type !== 'ttl') throw new OutriggerError('invalid_argument', `check ${JSON.stringify(check.id)} is a ${check.type} check; only TTL checks are updated through the agent API`);
  if (check.status === status && (check.output ?? '') === output && inst.lease.expiredAt === undefined) {
    await ctx.registry.write(() => ctx.registry.heartbeat(inst.id));
    return;
  }
  const next = checks.map((c) => (c.id === check.id ? { ...c, status, ...(output !== '' ? { output: output.slice(0, 256) } : {}) } : c));
  await ctx.registry.write(() => ctx.registry.register(reregistration(inst, next)));
}

const ttlRoute = (status: CheckStatus): ConsulRoute => ({
  method: 'PUT',
  write: true,
  async run(ctx) {
    await updateCheck(ctx, status, ctx.query.get('note') ?? '');
    return { body: null };
  },
});

const checkUpdate: ConsulRoute = {
  method: 'PUT',
  write: true,
  async run(ctx) {
    const body = (ctx.body ?? {}) as { Status?: unknown; Output?: unknown };
    if (typeof body !== 'object' || !CHECK_STATUSES.includes(body.Status as CheckStatus)) throw badRequest(`Status: must be one of ${CHECK_STATUSES.join(', ')}`);
    if (body.Output !== undefined && typeof body.Output !== 'string') throw badRequest('Output: must be a string');
    await updateCheck(ctx, body.Status as CheckStatus, (body.Output as string | undefined) ?? '');
    return { body: null };
  },
};

const self: ConsulRoute = {
  method: 'GET',
  write: false,
  run(ctx) {
    const s = ctx.site;
    return {
      body: {
        Config: { Datacenter: s.datacenter, NodeName: s.nodeName, NodeID: '', Server: true, Revision: 'outrigger', Version: '1.17.0' },
        Member: { Name: s.nodeName, Addr: s.leader.split(':')[0], Port: 8301, Status: 1, Tags: { dc: s.datacenter, role: 'consul' } },
        Meta: {},
      },
    };
  },
};

const leader: ConsulRoute = { method: 'GET', write: false, run: (ctx) => ({ body: ctx.site.leader }) };
const peers: ConsulRoute = { method: 'GET', write: false, run: (ctx) => ({ body: [ctx.site.leader] }) };

/** Routes by path; a trailing `:` segment is the route's parameter. */
export const AGENT_ROUTES: Readonly<Record<string, ConsulRoute>> = {
  'agent/service/register': register,
  'agent/service/deregister/:': deregister,
  'agent/check/pass/:': ttlRoute('passing'),
  'agent/check/warn/:': ttlRoute('warning'),
  'agent/check/fail/:': ttlRoute('critical'),
  'agent/check/update/:': checkUpdate,
  'agent/self': self,
  'status/leader': leader,
  'status/peers': peers,
};
