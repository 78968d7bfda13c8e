/**
 * The request side of the HTTP fuzz suites (the hub's REST API and its Consul, Eureka and Cloud
 * Map dialects): credentials of every role and broken ones, path segments, query strings and
 * bodies built from a route's pattern, and one probe that sends a request and checks what every
 * suite checks (an answer within the bound, in the API's own error shape, and a registry left
 * exactly as it was by a read or a refusal).
 */
import { isDeepStrictEqual } from 'node:util';
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import { ERROR_KINDS } from '../../src/common/errors.js';
import type { Registry } from '../../src/registry/registry.js';
import type { AuthHub } from './auth-hub.js';
import { check, fuzz, mutatedObject, nastyJson, nastyKey, nastyString, rawBodies, Tally, type FuzzOptions } from './fuzz.js';
import { BAD_PERCENT, exchange, percentEncode, rawTargetText, type Answer, type Endpoint, type Exchange } from './fuzz-http.js';
import { reseed, type FuzzTokens, type SeedInstance } from './fuzz-registry.js';
import { registrySnapshot } from './http-registry-snapshot.js';

/** A token of each role, and credentials that must be refused. */
export type Credential = 'none' | keyof FuzzTokens | 'unknown' | 'basic' | 'empty-bearer' | 'two-tokens';
export const CREDENTIALS: readonly Credential[] = ['none', 'admin', 'operator', 'viewer', 'service', 'other-operator', 'unknown', 'basic', 'empty-bearer', 'two-tokens'];
/** Mostly tokens that may write, so requests reach past the access check into the handlers. */
export const credential: fc.Arbitrary<Credential> = fc.oneof({ weight: 3, arbitrary: fc.constantFrom<Credential>('admin', 'operator') }, { weight: 2, arbitrary: fc.constantFrom(...CREDENTIALS) });

/** How a token travels: `Authorization: Bearer`, Consul's `X-Consul-Token`, or HTTP Basic with the token as the password (Eureka clients). */
export type Carrier = 'bearer' | 'x-consul-token' | 'basic-password';

/** The headers carrying a credential (`basic`: a user and password that is no token; the broken ones always as they are). */
export function authorization(tokens: FuzzTokens, c: Credential, carrier: Carrier = 'bearer'): Record<string, string> {
  switch (c) {
    case 'none':
      return {};
    case 'unknown':
      return { authorization: 'Bearer ort_nobody-issued-this' };
    case 'basic':
      return { authorization: 'Basic YWRtaW46YWRtaW4=' };
    case 'empty-bearer':
      return { authorization: 'Bearer ' };
    case 'two-tokens':
      return { authorization: `Bearer ${tokens.viewer} ${tokens.admin}` };
    default:
  }
  const token = tokens[c];
  if (carrier === 'x-consul-token') return { 'x-consul-token': token };
  if (carrier === 'basic-password') return { authorization: `Basic ${Buffer.from(`eureka:${token}`).toString('base64')}` };
  return { authorization: `Bearer ${token}` };
}

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND'] as const;

/** A path segment: a known value (so the handler runs), random text (encoded or raw), or a bad percent-encoding. */
export const segment = (known: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...(known.length > 0 ? known : ['x'])).map(percentEncode) },
    { weight: 2, arbitrary: nastyString.map(percentEncode) },
    { weight: 1, arbitrary: nastyString.map(rawTargetText) },
    { weight: 1, arbitrary: fc.constantFrom(...BAD_PERCENT) },
  );

/** `pattern` with each `{param}` replaced by a generated segment, from `params[param]` mostly. */
export function pathFor(pattern: string, params: Readonly<Record<string, readonly string[]>>): fc.Arbitrary<string> {
  const names = [...pattern.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
  if (names.length === 0) return fc.constant(pattern);
  return fc.tuple(...names.map((n) => segment(params[n] ?? []))).map((values) => {
    let i = 0;
    return pattern.replace(/\{[a-z_]+\}/g, () => values[i++]!);
  });
}

/**
 * A query string (with its `?`, or empty): pairs of the route's own names, odd and random keys,
 * values it understands and nasty ones, and broken query strings (`odd` adds the API's own).
 */
export function queryPart(names: readonly string[], values: readonly string[], odd: { keys?: readonly string[]; queries?: readonly string[] } = {}): fc.Arbitrary<string> {
  const key = fc.oneof(
    { weight: 4, arbitrary: names.length > 0 ? fc.constantFrom(...names) : fc.constant('x') },
    { weight: 1, arbitrary: fc.constantFrom('bogus', ...(odd.keys ?? [])) },
    { weight: 1, arbitrary: nastyKey },
  );
  const value = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: nastyString });
  const pair = fc.tuple(key, value).map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`);
  return fc.oneof(
    { weight: names.length === 0 ? 8 : 2, arbitrary: fc.constant('') },
    { weight: 5, arbitrary: fc.array(pair, { minLength: 1, maxLength: 5 }).map((ps) => `?${ps.join('&')}`) },
    { weight: 1, arbitrary: fc.constantFrom('?', '?=', '?&&', '?a', '?%', '?a=%zz', '?%zz=1', ...(odd.queries ?? [])) },
    { weight: 1, arbitrary: nastyString.map((s) => `?${rawTargetText(s)}`) },
  );
}

export const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v) ?? 'null');

/** A JSON body for a route whose valid body is `valid`: none, mutated, random, malformed, or over the 1 MiB limit. */
export const jsonBody = (valid: Record<string, unknown> | undefined): fc.Arbitrary<Buffer | undefined> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 6, arbitrary: (valid !== undefined ? mutatedObject(valid) : nastyJson).map(json) },
    { weight: 1, arbitrary: nastyJson.map(json) },
    { weight: 2, arbitrary: rawBodies(valid ?? {}) },
    { weight: 1, arbitrary: oversizedBody },
  );

/** Over the 1 MiB body limit: refused (413, or the dialect's equivalent) without being kept. */
export const oversizedBody: fc.Arbitrary<Buffer> = fc
  .integer({ min: 1_048_577, max: 1_500_000 })
  .map((n) => Buffer.concat([Buffer.from('{"a":"'), Buffer.alloc(n, 0x61), Buffer.from('"}')]));

export interface Probe {
  registry: Registry;
  endpoint: Endpoint;
  boundMs: number;
  /** Throws unless the answer is in the API's own shape. */
  checkAnswer(x: Exchange, a: Answer): void;
  /** The suite's own instances, put back before each case with the shared ones. */
  seeds?: readonly SeedInstance[];
}

/**
 * Puts the fuzz registry back, sends one request and checks it: an answer within the bound, in
 * the API's shape, and, for a read (`isRead`) or a refusal (any status from 300 up), a registry
 * exactly as it was. Tallies the status class under `key` and overall.
 */
export async function probe(p: Probe, x: Exchange, isRead: boolean, tally: Tally, key: string): Promise<Answer> {
  reseed(p.registry, p.seeds);
  const before = registrySnapshot(p.registry);
  const a = await exchange(p.endpoint, x, p.boundMs);
  p.checkAnswer(x, a);
  const after = registrySnapshot(p.registry);
  if (a.status >= 300 || isRead) {
    check(isDeepStrictEqual(before, after), () => `the registry changed on ${isRead ? 'a read' : `a refusal (${a.status})`}: ${x.method} ${x.target.slice(0, 200)} ${a.body.toString('utf8', 0, 300)}`);
  }
  tally.add(`${key} ${Math.floor(a.status / 100)}xx`);
  tally.add(`${Math.floor(a.status / 100)}xx`);
  return a;
}

/** What a failing check prints about an exchange. */
export const describe = (x: Exchange, a: Answer): string => `${x.method} ${x.target.slice(0, 200)} → ${a.status} ${a.body.toString('utf8', 0, 300)}`;

/** An Outrigger error body (`{"error": {code, message, field}}`, as JSON or parsed XML): a catalogue code whose status is the answer's, and a message. */
export function checkCatalogueError(parsed: unknown, x: Exchange, a: Answer): void {
  const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = error?.code;
  check(typeof code === 'string' && Object.hasOwn(ERROR_KINDS, code), () => `an error without a catalogue code: ${describe(x, a)}`);
  check(ERROR_KINDS[code as keyof typeof ERROR_KINDS].http === a.status, () => `code ${String(code)} answered with status ${a.status}: ${describe(x, a)}`);
  check(typeof error?.message === 'string' && error.message !== '', () => `an error without a message: ${describe(x, a)}`);
}

/** The body as JSON; fails the case when it is not. */
export function jsonOf(x: Exchange, a: Answer): unknown {
  try {
    return JSON.parse(a.body.toString('utf8'));
  } catch {
    throw new Error(`an error body that is not JSON: ${describe(x, a)}`);
  }
}

/** Whether the hub still answers its health check (200). */
export async function healthStatus(endpoint: Endpoint, boundMs: number): Promise<number> {
  return (await exchange(endpoint, { method: 'GET', target: '/health' }, boundMs)).status;
}

export interface EveryRouteRun<C> {
  /** The cases: a request to a route (or an odd one), as the suite builds them. */
  cases: fc.Arbitrary<C>;
  /** Sends one case and checks it (a probe); tallies under `key ${status class}`. */
  run(c: C, tally: Tally): Promise<void>;
  /** Every route's tally key: each must be answered 2xx or 4xx at least once in a run of `coverageFrom` cases or more. */
  keys: readonly string[];
  coverageFrom: number;
  hub: AuthHub;
  endpoint: Endpoint;
  boundMs: number;
  options: FuzzOptions;
}

/**
 * Runs a suite's every-route property, then checks what holds after any run: the hub answers its
 * health check, no handler logged an error, and (in a run long enough) every route was reached
 * with both sides of the edge seen. Returns the tally for the suite's own checks.
 */
export async function fuzzEveryRoute<C>(t: ExecutionContext, r: EveryRouteRun<C>): Promise<Tally> {
  const tally = new Tally();
  const runs = await fuzz(t, fc.asyncProperty(r.cases, (c) => r.run(c, tally)), r.options);
  t.log(tally.toString());
  t.is(await healthStatus(r.endpoint, r.boundMs), 200, 'the hub answers its health check after the run');
  t.deepEqual(r.hub.logs.filter((l) => l.level === 'error'), [], 'no handler failed');
  if (runs >= r.coverageFrom) {
    for (const key of r.keys) t.true(tally.get(`${key} 2xx`) + tally.get(`${key} 4xx`) > 0, `${key} was fuzzed`);
    t.true(tally.get('2xx') > 0 && tally.get('4xx') > 0, tally.toString());
  }
  return tally;
}
