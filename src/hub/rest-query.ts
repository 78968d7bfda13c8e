import type { z } from 'zod';
import { invalidArgument } from '../common/errors.js';
import { parseWith } from '../model/parse-input.js';

/** The query parameters a route takes: exact names, and prefixes such as `metadata.`. */
export interface QuerySpec {
  names?: readonly string[];
  prefixes?: readonly string[];
}

/** Per route's spec, its names as a set, made once rather than per request. */
const nameSets = new WeakMap<QuerySpec, ReadonlySet<string>>();
const NO_SPEC: QuerySpec = {};

/**
 * Typed access to a request's query string. Construction rejects parameters the route does not
 * take and repeated ones, so a misspelt filter (`servce_name`) is an error instead of being
 * silently ignored and returning everything.
 */
export class QueryReader {
  constructor(
    private readonly params: URLSearchParams,
    spec: QuerySpec = NO_SPEC,
  ) {
    let names = nameSets.get(spec);
    if (names === undefined) nameSets.set(spec, (names = new Set(spec.names ?? [])));
    const prefixes = spec.prefixes ?? [];
    const seen = new Set<string>();
    for (const name of params.keys()) {
      const known = names.has(name) || prefixes.some((p) => name.startsWith(p) && name.length > p.length);
      if (!known) {
        const takes = [...names, ...prefixes.map((p) => `${p}<key>`)];
        throw invalidArgument(name, `${name}: unknown query parameter; ${takes.length === 0 ? 'this route takes none' : `this route takes ${takes.join(', ')}`}`);
      }
      if (seen.has(name)) throw invalidArgument(name, `${name}: given more than once`);
      seen.add(name);
    }
  }

  has(name: string): boolean {
    return this.params.has(name);
  }

  /** A non-empty string, validated by `schema` when given. */
  string(name: string, schema?: z.ZodType<string>): string | undefined {
    const value = this.params.get(name);
    if (value === null) return undefined;
    if (value === '') throw invalidArgument(name, `${name}: must not be empty (leave the parameter out instead)`);
    return schema === undefined ? value : parseWith(schema, value, name);
  }

  boolean(name: string): boolean | undefined {
    const value = this.params.get(name);
    if (value === null) return undefined;
    const v = value.toLowerCase();
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw invalidArgument(name, `${name}: must be true or false, got ${JSON.stringify(value)}`);
  }

  int(name: string, min: number, max: number): number | undefined {
    const value = this.params.get(name);
    if (value === null) return undefined;
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw invalidArgument(name, `${name}: must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  }

  /** Parameters under a prefix, keyed without it: `metadata.team=a` → `{team: 'a'}`. */
  withPrefix(prefix: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of this.params) {
      if (name.startsWith(prefix)) out[name.slice(prefix.length)] = value;
    }
    return out;
  }
}
