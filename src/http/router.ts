import { OutriggerError } from '../common/errors.js';

/**
 * A small path router: patterns of literal segments and `{param}` segments, several methods per
 * pattern. It reports the matched pattern (a metrics label that never grows with ids) and, for a
 * known path with an unknown method, the methods that are allowed (for 405's Allow header).
 */

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS';

export type RouteMatch<H> =
  | { kind: 'match'; pattern: string; handler: H; params: Readonly<Record<string, string>> }
  | { kind: 'method_not_allowed'; pattern: string; allow: readonly string[] }
  | { kind: 'not_found' };

type Segment = { literal: string } | { param: string };

interface PatternEntry<H> {
  pattern: string;
  segments: Segment[];
  handlers: Map<string, H>;
}

/** A single trailing slash is forgiven: `/api/v1/services/` is `/api/v1/services`. */
function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function splitPath(path: string): string[] {
  return withoutTrailingSlash(path).split('/').slice(1);
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

export class Router<H> {
  private readonly entries: PatternEntry<H>[] = [];
  /** Patterns of literal segments only, by path: a hit needs no scan (nothing outranks an all-literal match). */
  private readonly literals = new Map<string, PatternEntry<H>>();

  add(method: HttpMethod, pattern: string, handler: H): this {
    let entry = this.entries.find((e) => e.pattern === pattern);
    if (entry === undefined) {
      const segments = splitPath(pattern).map((s): Segment => {
        const m = /^\{([a-z_]+)\}$/.exec(s);
        return m !== null ? { param: m[1]! } : { literal: s };
      });
      entry = { pattern, segments, handlers: new Map() };
      this.entries.push(entry);
      if (segments.every((seg) => 'literal' in seg)) this.literals.set(withoutTrailingSlash(pattern), entry);
    }
    if (entry.handlers.has(method)) throw new Error(`route ${method} ${pattern} is defined twice`);
    entry.handlers.set(method, handler);
    return this;
  }

  /**
   * Matches a raw (still percent-encoded) path. Literal segments win over parameters, so
   * `/a/{id}` never shadows `/a/b`. Throws invalid_argument for badly percent-encoded segments.
   */
  match(method: string, rawPath: string): RouteMatch<H> {
    const literal = this.literals.get(withoutTrailingSlash(rawPath));
    if (literal !== undefined) return found(literal, method, NO_PARAMS);
    const parts = splitPath(rawPath);
    let best: { entry: PatternEntry<H>; params: Record<string, string>; score: number } | undefined;
    for (const entry of this.entries) {
      if (entry.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let score = 0;
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = entry.segments[i]!;
        const part = parts[i]!;
        if ('literal' in seg) {
          ok = seg.literal === part;
          score = score * 2 + 1;
        } else {
          ok = part !== '';
          params[seg.param] = part;
          score = score * 2;
        }
      }
      if (ok && (best === undefined || score > best.score)) best = { entry, params, score };
    }
    if (best === undefined) return { kind: 'not_found' };
    return found(best.entry, method, best.params);
  }
}

function found<H>(entry: PatternEntry<H>, method: string, rawParams: Readonly<Record<string, string>>): RouteMatch<H> {
  const handler = entry.handlers.get(method) ?? (method === 'HEAD' ? entry.handlers.get('GET') : undefined);
  if (handler === undefined) return { kind: 'method_not_allowed', pattern: entry.pattern, allow: allowed(entry) };
  return { kind: 'match', pattern: entry.pattern, handler, params: rawParams === NO_PARAMS ? NO_PARAMS : decodeParams(rawParams) };
}

function allowed<H>(entry: PatternEntry<H>): string[] {
  const methods = new Set(entry.handlers.keys());
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

function decodeParams(raw: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      throw new OutriggerError('invalid_argument', `${name}: ${JSON.stringify(value)} is not validly percent-encoded`, name);
    }
  }
  return out;
}
