/**
 * What every Cloud Map operation works with: the registry, the Cloud Map store, the ARN parts,
 * and the call's Caller. Ids are resolved to names here, and the input pieces several
 * operations share (ids, paging, tags, filters) are their schemas here.
 */
import { z } from 'zod';
import type { Caller } from '../auth/caller.js';
import type { Action } from '../auth/roles.js';
import type { Namespace, Service } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import { namespaceNotFound, serviceNotFound } from './cloudmap-errors.js';
import { idOrArn, type ArnParts } from './cloudmap-ids.js';
import type { CloudMapStore } from './cloudmap-store.js';

export interface CloudMapContext {
  readonly registry: Registry;
  readonly store: CloudMapStore;
  readonly arn: ArnParts;
  readonly caller: Caller;
  /** Counts an accepted registration (the hub's registrations counter). */
  readonly registered: () => void;
}

/** One operation: `write` ones count against the identity's write allowance and are audited. */
export interface CloudMapOperation {
  readonly write: boolean;
  run(input: unknown, ctx: CloudMapContext): unknown;
}

export const str = (max: number) => z.string({ error: `must be a string of at most ${max} characters` }).max(max, { error: `must be a string of at most ${max} characters` });
export const requiredStr = (max: number) => str(max).min(1, { error: `must be a string of 1 to ${max} characters` });
export const idSchema = requiredStr(255).transform(idOrArn);
export const maxResults = (max: number) =>
  z
    .number({ error: `must be an integer from 1 to ${max}` })
    .int({ error: `must be an integer from 1 to ${max}` })
    .min(1, { error: `must be an integer from 1 to ${max}` })
    .max(max, { error: `must be an integer from 1 to ${max}` })
    .optional();
export const nextToken = str(4096).optional();
export const creatorRequestId = str(64).optional();

export const tagsSchema = z
  .array(z.object({ Key: requiredStr(128), Value: str(256) }), { error: 'must be a list of {Key, Value}' })
  .max(50, { error: 'must hold at most 50 tags' })
  .optional();

export const filterSchema = <N extends string>(names: readonly [N, ...N[]]) =>
  z.object({
    Name: z.enum(names, { error: `must be one of ${names.join(', ')}` }),
    Values: z.array(requiredStr(255), { error: 'must be a list of strings' }).min(1, { error: 'must hold at least one value' }).max(10, { error: 'must hold at most 10 values' }),
    Condition: z.enum(['EQ', 'IN', 'BETWEEN', 'BEGINS_WITH'], { error: 'must be one of EQ, IN, BETWEEN, BEGINS_WITH' }).optional(),
  });

/** The input of the List* operations: a page of at most 100, and filters by these names. */
export const listInput = <N extends string>(filterNames: readonly [N, ...N[]]) =>
  z.object({ NextToken: nextToken, MaxResults: maxResults(100), Filters: z.array(filterSchema(filterNames)).optional() });

/** The input of operations on one namespace or service: its id (or ARN). */
export const byId = z.object({ Id: idSchema });

/** Whether a value passes a filter's condition (EQ is the default and takes the first value). */
export function matches(value: string, filter: { Values: readonly string[]; Condition?: string | undefined }): boolean {
  switch (filter.Condition ?? 'EQ') {
    case 'IN':
      return filter.Values.includes(value);
    case 'BEGINS_WITH':
      return value.startsWith(filter.Values[0]!);
    default:
      return value === filter.Values[0];
  }
}

/**
 * The namespace with this id. One the caller may not read is not found, as a missing one is: ids
 * are derived from names, so anyone can work out the id of a name they guess, and the answer
 * must not tell whether that name exists.
 */
export function findNamespace(ctx: CloudMapContext, id: string): Namespace {
  const name = ctx.store.namespaceName(id);
  const ns = name === undefined ? undefined : ctx.registry.getNamespace(name);
  const reads = ctx.caller.reads;
  if (ns === undefined || (reads !== undefined && !reads.namespace(ns.name))) throw namespaceNotFound(id);
  return ns;
}

/** The service with this id; one the caller may not read is not found (see findNamespace). */
export function findService(ctx: CloudMapContext, id: string): Service {
  const names = ctx.store.serviceName(id);
  const svc = names === undefined ? undefined : ctx.registry.getService(names.namespace, names.name);
  const reads = ctx.caller.reads;
  if (svc === undefined || (reads !== undefined && !reads.service(svc.namespace, svc.name))) throw serviceNotFound(id);
  return svc;
}

/** The namespace with this id, once the caller may take `action` on it. */
export function checkedNamespace(ctx: CloudMapContext, id: string, action: Action): Namespace {
  const ns = findNamespace(ctx, id);
  ctx.caller.require(action, { namespace: ns.name });
  return ns;
}

/** The service with this id, once the caller may take `action` on it. */
export function checkedService(ctx: CloudMapContext, id: string, action: Action): Service {
  const svc = findService(ctx, id);
  ctx.caller.require(action, { namespace: svc.namespace, service: svc.name });
  return svc;
}

/** Tags as a map, from `[{Key, Value}]`. */
export function tagMap(tags: ReadonlyArray<{ Key: string; Value: string }> | undefined): Map<string, string> {
  return new Map((tags ?? []).map((t) => [t.Key, t.Value]));
}

/** AWS JSON 1.1 timestamps are seconds since the epoch. */
export const epochSeconds = (ms: number): number => ms / 1000;
