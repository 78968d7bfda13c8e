/**
 * The Consul HTTP API's front, under `/v1/` on the hub's HTTP port: finds the route, identifies
 * the caller through the hub's one AccessControl (a token in `X-Consul-Token` or
 * `Authorization: Bearer`, or the client certificate), counts writes against the identity's
 * allowance, runs the route and answers as Consul does: JSON, the `X-Consul-*` headers on reads,
 * and errors as plain text with Consul's status codes.
 */
import type http from 'node:http';
import type { AccessControl } from '../auth/access-control.js';
import type { CallSite } from '../auth/audit-log.js';
import type { Caller } from '../auth/caller.js';
import { httpCredentials } from '../auth/credentials.js';
import type { Identity } from '../auth/identity.js';
import type { Clock } from '../common/clock.js';
import { storeRetryAfter, type OutriggerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { ClientGoneError, parseJson, readRawBody } from '../http/body.js';
import { clientAddress } from '../http/client-address.js';
import { drainRequest } from '../http/drain.js';
import type { Registry } from '../registry/registry.js';
import { AGENT_ROUTES } from './consul-agent-routes.js';
import type { BlockingQueries } from './consul-blocking.js';
import type { ConsulContext, ConsulRoute } from './consul-context.js';
import { ConsulError, toConsulError } from './consul-errors.js';
import { READ_ROUTES } from './consul-read-routes.js';

const ROUTES: Readonly<Record<string, ConsulRoute>> = { ...AGENT_ROUTES, ...READ_ROUTES };

export interface ConsulHandlerDeps {
  registry: Registry;
  blocking: BlockingQueries;
  access: AccessControl;
  clock: Clock;
  logger: Logger;
  maxBodyBytes: number;
  site: Omit<ConsulContext['site'], 'leader'>;
  /** The hub's own address (host:port of the HTTP port), known once it listens. */
  leader(): string;
  limitWrite(identity: Identity, peer: string): { error: OutriggerError; retryAfterSeconds: number } | undefined;
  count(route: string, status: string): void;
  /** Called once per accepted registration, for the hub's registrations counter. */
  registered(): void;
}

export function isConsulRequest(req: http.IncomingMessage): boolean {
  return req.url?.startsWith('/v1/') === true;
}

/** The route for a path: an exact one, or one whose last segment is its parameter. */
function findRoute(path: string): { name: string; route: ConsulRoute; param: string } | undefined {
  if (Object.hasOwn(ROUTES, path)) return { name: path, route: ROUTES[path]!, param: '' };
  const cut = path.lastIndexOf('/');
  const name = `${path.slice(0, cut)}/:`;
  if (cut <= 0 || !Object.hasOwn(ROUTES, name)) return undefined;
  const raw = path.slice(cut + 1);
  let param: string;
  try {
    param = decodeURIComponent(raw);
  } catch {
    throw new ConsulError(400, `the path's last segment is not valid percent-encoding: ${JSON.stringify(raw.slice(0, 80))}`);
  }
  if (param === '') return undefined;
  return { name, route: ROUTES[name]!, param };
}

/** Consul's token header first; otherwise a bearer token, as every other hub API reads it. */
function consulCredentials(req: http.IncomingMessage) {
  const credentials = httpCredentials(req);
  const header = req.headers['x-consul-token'];
  const token = Array.isArray(header) ? header[0] : header;
  return token !== undefined && token !== '' ? { ...credentials, token } : credentials;
}

export function createConsulHandler(deps: ConsulHandlerDeps): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://consul');
    const path = url.pathname.slice('/v1/'.length).replace(/\/+$/, '');
    let found: ReturnType<typeof findRoute>;
    let label = 'unknown';
    let site: CallSite = { api: 'consul', op: label, peer: clientAddress(req) };
    let caller: Caller | undefined;
    let status = 200;
    let text: string;
    const headers: Record<string, string | number> = {};
    try {
      found = findRoute(path);
      if (found !== undefined) site = { ...site, op: (label = found.name) };
      const raw = await readRawBody(req, deps.maxBodyBytes);
      const identity = await deps.access.identify(() => consulCredentials(req), site);
      caller = deps.access.caller(identity, site);
      if (found === undefined) throw new ConsulError(404, `Invalid URL path: /v1/${path.slice(0, 200)} is not a Consul API path the hub serves (see the README's Consul API section)`, 'not_found');
      const { route } = found;
      if ((req.method ?? 'GET') !== route.method && !(route.method === 'GET' && req.method === 'HEAD')) {
        throw new ConsulError(405, `method ${req.method ?? ''} not allowed: /v1/${found.name.replace(':', '<id>')} takes ${route.method}`, 'method_not_allowed');
      }
      const dc = url.searchParams.get('dc');
      if (dc !== null && dc !== '' && dc !== deps.site.datacenter) throw new ConsulError(500, `No path to datacenter: the hub serves only ${deps.site.datacenter}`, 'not_found');
      if (route.write) {
        const limited = deps.limitWrite(identity, site.peer);
        if (limited !== undefined) {
          headers['retry-after'] = limited.retryAfterSeconds;
          throw limited.error;
        }
      }
      const body = raw.length === 0 ? undefined : parseJson(raw);
      const reply = await route.run({
        registry: deps.registry,
        blocking: deps.blocking,
        caller,
        query: url.searchParams,
        param: found.param,
        body,
        site: { ...deps.site, leader: deps.leader() },
        peer: site.peer,
        gone: (fn) => res.once('close', fn),
        registered: deps.registered,
      });
      if (route.write) caller.done(undefined, true);
      // A write answers 200 with an empty body, as a Consul agent does.
      text = reply.body === null ? '' : JSON.stringify(reply.body);
      if (reply.body !== null) headers['content-type'] = 'application/json';
      if (reply.index !== undefined) {
        headers['x-consul-index'] = reply.index;
        headers['x-consul-knownleader'] = 'true';
        headers['x-consul-lastcontact'] = 0;
      }
    } catch (err) {
      if (err instanceof ClientGoneError) {
        deps.count(label, '499');
        return;
      }
      caller?.done(err, found?.route.write ?? false);
      const e = toConsulError(err);
      if (e.status === 500 && e.code !== 'not_found') deps.logger.error('consul request failed', { route: label, err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      status = e.status;
      text = e.message;
      headers['content-type'] = 'text/plain; charset=utf-8';
      const retryAfter = storeRetryAfter(err);
      if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
    }
    if (res.headersSent || res.destroyed) {
      deps.count(label, '499');
      return;
    }
    if (!req.complete) drainRequest(req, deps.clock, { maxBytes: 4 * deps.maxBodyBytes, maxMs: 10_000 });
    headers['content-length'] = Buffer.byteLength(text);
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : text);
    deps.count(label, String(status));
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.logger.error('consul request failed', { err: String(err) });
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  };
}
