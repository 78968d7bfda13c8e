/**
 * The Eureka REST API's HTTP front, under a path prefix on the hub's HTTP port: routes, the
 * caller (Bearer, or Basic with the token as the password, through the hub's one AccessControl),
 * the write allowance, and answers in JSON or XML as the client asks. The registry is the one
 * store: apps are the services of one namespace, instances are its instances.
 */
import type http from 'node:http';
import type { AccessControl } from '../auth/access-control.js';
import type { CallSite } from '../auth/audit-log.js';
import type { Caller } from '../auth/caller.js';
import { httpCredentials } from '../auth/credentials.js';
import type { Identity } from '../auth/identity.js';
import type { Clock } from '../common/clock.js';
import { OutriggerError, storeRetryAfter } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { ClientGoneError, readRawBody } from '../http/body.js';
import { clientAddress } from '../http/client-address.js';
import { drainRequest } from '../http/drain.js';
import { Router, type HttpMethod, type RouteMatch } from '../http/router.js';
import type { Instance } from '../registry/model.js';
import type { RegistrationCheck, Registry } from '../registry/registry.js';
import type { EurekaDelta } from './eureka-delta.js';
import { appNotFound, eurekaError, instanceNotFound } from './eureka-errors.js';
import { parseBody, render, responseFormat } from './eureka-format.js';
import { eurekaInstance, hasVip, registrationOf } from './eureka-instance.js';
import { appOfService, serviceOfApp } from './eureka-names.js';
import { healthOfStatus, statusOfHealth } from './eureka-status.js';

export interface EurekaHandlerDeps {
  registry: Registry;
  delta: EurekaDelta;
  namespace: string;
  prefix: string;
  access: AccessControl;
  /** The hub's one rule for registrations (the service's right, and the replaced instance's). */
  registrationCheck(caller: Caller): RegistrationCheck;
  clock: Clock;
  logger: Logger;
  maxBodyBytes: number;
  limitWrite(identity: Identity, peer: string): { error: OutriggerError; retryAfterSeconds: number } | undefined;
  count(route: string, status: string): void;
  /** Called once per accepted registration, for the hub's registrations counter. */
  registered(): void;
}

interface Call {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly caller: Caller;
  body(): Promise<unknown>;
}

interface Route {
  readonly write: boolean;
  /** A renewal: audited only when it fails, as REST heartbeats are. */
  readonly routine?: boolean;
  run(call: Call): { status: number; body?: Record<string, unknown> } | Promise<{ status: number; body?: Record<string, unknown> }>;
}

/** Whether a request belongs to the Eureka API. */
export function isEurekaRequest(req: http.IncomingMessage, prefix: string): boolean {
  const url = req.url ?? '/';
  return url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`);
}

/** Every route of the Eureka API, as [method, pattern under the prefix, route]: the handler's table, and what its tests enumerate. */
export function eurekaRoutes(deps: Pick<EurekaHandlerDeps, 'registry' | 'delta' | 'namespace' | 'registrationCheck' | 'registered'>): Array<[HttpMethod, string, Route]> {
  const { registry, namespace } = deps;

  /** The instances of one app the caller may read; an app it may not read is not found, as a missing one is. */
  function appInstances(caller: Caller, app: string): Instance[] {
    const service = serviceOfApp(app);
    const reads = caller.reads;
    if (registry.getService(namespace, service) === undefined || (reads !== undefined && !reads.service(namespace, service))) throw appNotFound(app);
    return registry.instancesOf(namespace, service);
  }

  function visible(caller: Caller): Instance[] {
    const reads = caller.reads;
    return registry.discover({ namespace, healthyOnly: false, ...(reads !== undefined ? { visible: (ns, svc) => reads.service(ns, svc) } : {}) });
  }

  /** One instance of one app, for the caller; `action` is what it means to do with it. */
  function instanceOf(call: Call, action: 'service:read' | 'instance:write'): Instance {
    const app = call.params.app!;
    const id = call.params.id!;
    const service = serviceOfApp(app);
    const inst = registry.getInstance(id);
    const reads = call.caller.reads;
    if (inst === undefined || inst.namespace !== namespace || inst.service !== service || (reads !== undefined && !reads.service(namespace, service))) throw instanceNotFound(app, id);
    call.caller.require(action, inst);
    return inst;
  }

  const applications = (instances: Iterable<{ instance: Instance; action?: 'ADDED' | 'MODIFIED' | 'DELETED' }>, all: Instance[]): Record<string, unknown> => {
    const apps = new Map<string, Record<string, unknown>[]>();
    for (const { instance, action } of instances) {
      const list = apps.get(instance.service) ?? [];
      list.push(eurekaInstance(instance, action));
      apps.set(instance.service, list);
    }
    return {
      applications: {
        versions__delta: String(registry.version),
        apps__hashcode: hashcode(all),
        application: [...apps.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([service, instance]) => ({ name: appOfService(service), instance })),
      },
    };
  };

  const routes: Array<[HttpMethod, string, Route]> = [
    ['GET', '/apps', { write: false, run: ({ caller }) => {
      const all = visible(caller);
      return { status: 200, body: applications(all.map((instance) => ({ instance })), all) };
    } }],
    ['GET', '/apps/delta', { write: false, run: ({ caller }) => {
      const reads = caller.reads;
      const recent = deps.delta.recent().filter((c) => reads === undefined || reads.service(namespace, c.instance.service));
      return { status: 200, body: applications(recent, visible(caller)) };
    } }],
    ['GET', '/apps/{app}', { write: false, run: ({ caller, params }) => {
      const instances = appInstances(caller, params.app!);
      return { status: 200, body: { application: { name: appOfService(serviceOfApp(params.app!)), instance: instances.map((i) => eurekaInstance(i)) } } };
    } }],
    ['POST', '/apps/{app}', { write: true, run: async (call) => {
      const { input, id } = registrationOf(await call.body(), call.params.app!, namespace);
      const existing = registry.getInstance(id);
      // An OUT_OF_SERVICE override outlives the client registering again, as in Eureka.
      if (existing?.reportedHealth === 'DRAINING' && existing.namespace === namespace && existing.service === input.service) input.health = 'DRAINING';
      await registry.write(() => registry.register(input, deps.registrationCheck(call.caller)));
      deps.registered();
      return { status: 204 };
    } }],
    ['GET', '/apps/{app}/{id}', { write: false, run: (call) => ({ status: 200, body: { instance: eurekaInstance(instanceOf(call, 'service:read')) } }) }],
    ['PUT', '/apps/{app}/{id}', { write: true, routine: true, run: async (call) => {
      const id = instanceOf(call, 'instance:write').id;
      await registry.write(() => registry.heartbeat(id));
      return { status: 200 };
    } }],
    ['DELETE', '/apps/{app}/{id}', { write: true, run: async (call) => {
      const id = instanceOf(call, 'instance:write').id;
      await registry.write(() => registry.deregister(id));
      return { status: 200 };
    } }],
    ['PUT', '/apps/{app}/{id}/status', { write: true, run: async (call) => {
      const health = healthOfStatus(call.query.get('value') ?? undefined, 'value');
      const id = instanceOf(call, 'instance:write').id;
      await registry.write(() => registry.reportHealth(id, health));
      return { status: 200 };
    } }],
    ['DELETE', '/apps/{app}/{id}/status', { write: true, run: async (call) => {
      // Removing the override: the instance is what the query says it is now, UP by default.
      const value = call.query.get('value');
      const health = value === null ? 'HEALTHY' : healthOfStatus(value, 'value');
      const id = instanceOf(call, 'instance:write').id;
      await registry.write(() => registry.reportHealth(id, health));
      return { status: 200 };
    } }],
    ['GET', '/instances/{id}', { write: false, run: (call) => {
      const inst = registry.getInstance(call.params.id!);
      const reads = call.caller.reads;
      if (inst === undefined || inst.namespace !== namespace || (reads !== undefined && !reads.service(namespace, inst.service))) throw instanceNotFound('(any)', call.params.id!);
      return { status: 200, body: { instance: eurekaInstance(inst) } };
    } }],
    ['GET', '/vips/{vip}', { write: false, run: ({ caller, params }) => vipAnswer(caller, params.vip!, false) }],
    ['GET', '/svips/{vip}', { write: false, run: ({ caller, params }) => vipAnswer(caller, params.vip!, true) }],
  ];

  function vipAnswer(caller: Caller, vip: string, secure: boolean): { status: number; body: Record<string, unknown> } {
    const all = visible(caller);
    const matching = all.filter((i) => hasVip(i, vip, secure));
    return { status: 200, body: applications(matching.map((instance) => ({ instance })), all) };
  }

  return routes;
}

export function createEurekaHandler(deps: EurekaHandlerDeps): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const router = new Router<Route>();
  for (const [method, pattern, route] of eurekaRoutes(deps)) router.add(method, pattern, route);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const format = responseFormat(req);
    const url = new URL(`http://hub${req.url ?? '/'}`);
    const path = url.pathname.slice(deps.prefix.length) || '/';
    // A path segment that is not valid percent-encoding is the caller's error, answered once the caller is known.
    let badPath: unknown;
    let match: RouteMatch<Route> = { kind: 'not_found' };
    try {
      match = router.match(method, path);
    } catch (err) {
      badPath = err;
    }
    const label = match.kind === 'not_found' ? 'unmatched' : match.pattern;
    const site: CallSite = { api: 'eureka', op: `${method} ${label}`, peer: clientAddress(req) };
    const write = match.kind === 'match' && match.handler.write;
    let caller: Caller | undefined;
    let answer: { status: number; body?: Record<string, unknown> };
    let headers: Record<string, string> = {};
    try {
      const identity = await deps.access.identify(() => httpCredentials(req, { basic: true }), site);
      caller = deps.access.caller(identity, site);
      if (badPath !== undefined) throw badPath;
      if (match.kind === 'not_found') throw new OutriggerError('not_found', `no Eureka route for ${method} ${path.slice(0, 200)}; see the README's Eureka section`);
      if (match.kind === 'method_not_allowed') {
        headers = { allow: match.allow.join(', ') };
        throw new OutriggerError('method_not_allowed', `${method} is not allowed on ${match.pattern}; use ${match.allow.join(', ')}`);
      }
      if (write) {
        const limited = deps.limitWrite(identity, site.peer);
        if (limited !== undefined) {
          headers = { 'retry-after': String(limited.retryAfterSeconds) };
          throw limited.error;
        }
      }
      let body: Promise<unknown> | undefined;
      const call: Call = { params: match.params, query: url.searchParams, caller, body: () => (body ??= readRawBody(req, deps.maxBodyBytes).then((raw) => parseBody(req, raw))) };
      answer = await match.handler.run(call);
      caller.done(undefined, write, match.handler.routine === true);
    } catch (err) {
      // A write whose client left is audited too, as REST audits it.
      caller?.done(err, write);
      if (err instanceof ClientGoneError) {
        deps.count(label, '499');
        return;
      }
      const e = eurekaError(err);
      if (e.status === 500) deps.logger.error('eureka request failed', { route: label, err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      if (e.status === 401) headers = { 'www-authenticate': 'Basic realm="outrigger", Bearer realm="outrigger"' };
      const retryAfter = storeRetryAfter(err);
      if (retryAfter !== undefined) headers = { 'retry-after': String(retryAfter) };
      answer = { status: e.status, body: e.body };
    }
    if (res.headersSent || res.destroyed) {
      deps.count(label, '499');
      return;
    }
    if (!req.complete) drainRequest(req, deps.clock, { maxBytes: 4 * deps.maxBodyBytes, maxMs: 10_000 });
    const out = answer.body === undefined ? undefined : render(format, answer.body);
    res.writeHead(answer.status, {
      ...headers,
      'cache-control': 'no-store',
      'content-length': out === undefined ? 0 : Buffer.byteLength(out.text),
      ...(out !== undefined ? { 'content-type': out.contentType } : {}),
    });
    res.end(out?.text);
    deps.count(label, String(answer.status));
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.logger.error('eureka request failed', { err: String(err) });
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  };
}

/** Eureka's summary of a registry (`UP_2_DOWN_1_`): counts by status, in status order. */
function hashcode(instances: readonly Instance[]): string {
  const counts = new Map<string, number>();
  for (const i of instances) {
    const s = statusOfHealth(i.health);
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${s}_${n}_`).join('');
}
