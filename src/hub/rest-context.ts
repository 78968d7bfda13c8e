import type { z } from 'zod';
import type { Caller } from '../auth/caller.js';
import { invalidArgument } from '../common/errors.js';
import type { HttpReply } from '../http/response.js';
import type { HttpMethod } from '../http/router.js';
import { parseWith } from '../model/parse-input.js';
import type { QueryReader, QuerySpec } from './rest-query.js';

/** One request, as a handler sees it. */
export interface RestContext {
  readonly params: Readonly<Record<string, string>>;
  readonly query: QueryReader;
  /** The raw query string (after `?`, still percent-encoded), or ''. */
  readonly search: string;
  /** The JSON body, or undefined when none was sent. Reads it on first call. */
  body(): Promise<unknown>;
  /** A request header (repeated ones joined with ", "), or undefined. */
  header(name: string): string | undefined;
  /** Who is calling; every handler checks what it does through it. */
  readonly caller: Caller;
}

export interface RestRoute {
  method: HttpMethod;
  pattern: string;
  /** Query parameters taken; anything else is a 400. */
  query?: QuerySpec;
  /** Answered without credentials (probes). Every other route needs an identity, and checks its rights. */
  public?: true;
  /** A write whose success is not audited (a heartbeat renewing a lease); its failures are. */
  routine?: true;
  handle(ctx: RestContext): HttpReply | Promise<HttpReply>;
}

/** A path parameter validated by `schema`; the error names the parameter. */
export function pathParam<T>(ctx: RestContext, name: string, schema: z.ZodType<T>): T {
  const raw = ctx.params[name];
  if (raw === undefined) throw new Error(`route has no {${name}} parameter`);
  return parseWith(schema, raw, name);
}

/** The body as a JSON object; `required` decides whether no body at all is allowed. */
export function objectBody(ctx: RestContext, required: true): Promise<Record<string, unknown>>;
export function objectBody(ctx: RestContext, required: false): Promise<Record<string, unknown> | undefined>;
export async function objectBody(ctx: RestContext, required: boolean): Promise<Record<string, unknown> | undefined> {
  const body = await ctx.body();
  if (body === undefined) {
    if (required) throw invalidArgument('body', 'body: a JSON object is required');
    return undefined;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    const got = body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`;
    throw invalidArgument('body', `body: must be a JSON object, got ${got}`);
  }
  return body as Record<string, unknown>;
}

/** Rejects keys other than `allowed`, naming the first unknown one. */
export function onlyKeys(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).find((k) => !allowed.includes(k));
  if (unknown !== undefined) {
    throw invalidArgument(unknown, `${unknown}: unknown key; this body takes ${allowed.join(', ')}`);
  }
}
