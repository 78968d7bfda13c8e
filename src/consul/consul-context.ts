/**
 * What every Consul route works with, and the namespace rule: a call's Consul namespace (`ns`,
 * or `Namespace` in a registration), else its partition, maps to the Outrigger namespace of
 * that name; none, or `default`, maps to `consul.default_namespace`.
 */
import type { Caller } from '../auth/caller.js';
import { isDnsName } from '../model/names.js';
import type { Registry } from '../registry/registry.js';
import type { BlockingQueries } from './consul-blocking.js';
import { badRequest } from './consul-errors.js';
import type { ConsulSite } from './consul-json.js';

export interface ConsulContext {
  readonly registry: Registry;
  readonly blocking: BlockingQueries;
  readonly caller: Caller;
  readonly query: URLSearchParams;
  /** The path's last segment (a service name, an id), decoded. */
  readonly param: string;
  readonly body: unknown;
  readonly site: ConsulSite & { nodeName: string; defaultNamespace: string; leader: string };
  /** The caller's address, a registration's Address when it names none (as an agent's own). */
  readonly peer: string;
  /** Resolves when the client goes away, for blocking reads. */
  readonly gone: (fn: () => void) => void;
  /** Counts an accepted registration (the hub's registrations counter). */
  readonly registered: () => void;
}

/** A route's answer: JSON (or a string as JSON), and the index of a read. */
export interface ConsulReply {
  body: unknown;
  index?: number;
}

export interface ConsulRoute {
  readonly method: 'GET' | 'PUT';
  readonly write: boolean;
  run(ctx: ConsulContext): ConsulReply | Promise<ConsulReply>;
}

export function namespaceOf(ctx: ConsulContext, body?: { Namespace?: string | undefined; Partition?: string | undefined }): string {
  const pick = (...values: Array<string | null | undefined>): string | undefined => values.find((v) => v !== undefined && v !== null && v !== '' && v !== 'default') ?? undefined;
  const name = pick(ctx.query.get('ns'), body?.Namespace) ?? pick(ctx.query.get('partition'), body?.Partition);
  if (name === undefined) return ctx.site.defaultNamespace;
  if (!isDnsName(name)) throw badRequest(`Namespace: must be a DNS name (dot-separated lowercase labels), got ${JSON.stringify(name.slice(0, 80))}`);
  return name;
}

/** Whether the caller may read the service; one it may not read is answered as missing. */
export function mayRead(ctx: ConsulContext, namespace: string, service?: string): boolean {
  const reads = ctx.caller.reads;
  if (reads === undefined) return true;
  return service === undefined ? reads.namespace(namespace) : reads.service(namespace, service);
}
