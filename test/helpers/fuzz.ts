/**
 * How the fuzz suites (test/fuzz/) run their fast-check properties: the number of cases, the seed
 * and the replay path come from the environment, so CI runs a fixed small size and a long run is
 * one command:
 *
 *   FUZZ_RUNS=200000 npm run test:fuzz                  # many more cases, a fresh seed
 *   FUZZ_SEED=1234 FUZZ_PATH=17:3 npm run test:fuzz     # replays one failing case, as reported
 *
 * A failure names the seed, the path and the command that replays it. Each case runs against a
 * real server and is bounded, so a hang fails as a timeout of that case instead of stalling.
 */
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';

function intFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** Cases per property: 2,000 in CI, FUZZ_RUNS for a long run. */
export const FUZZ_RUNS = Math.max(1, intFromEnv('FUZZ_RUNS') ?? 2000);

export interface FuzzOptions {
  /** Bound on one case (every request it sends and every answer it waits for). */
  caseTimeoutMs?: number;
  /** A generous average per case, to bound the whole property (AVA's timeout for the test). */
  averageCaseMs?: number;
  /** Cases to run; FUZZ_RUNS by default. */
  runs?: number;
  /**
   * The part of FUZZ_RUNS to run (default 1), for a property whose cases cost more (a whole hub
   * per request): it keeps the default run short and still grows with FUZZ_RUNS in a long run.
   */
  share?: number;
}

/**
 * Runs an async property for FUZZ_RUNS cases (unless FUZZ_PATH replays one) and fails the test
 * with fast-check's report (counterexample, shrunk, error) and a replay command. Resolves with
 * the number of cases run.
 */
export async function fuzz<Ts>(t: ExecutionContext, property: fc.IAsyncProperty<Ts>, options: FuzzOptions = {}): Promise<number> {
  const runs = options.runs ?? Math.max(1, Math.round(FUZZ_RUNS * (options.share ?? 1)));
  const seed = intFromEnv('FUZZ_SEED') ?? (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
  const path = process.env.FUZZ_PATH;
  const caseTimeoutMs = options.caseTimeoutMs ?? 10_000;
  // Shrinking a failure replays cases too; the bound leaves room for it.
  t.timeout(Math.max(120_000, 2 * runs * (options.averageCaseMs ?? 20)), 'the fuzz run took too long');
  t.log(`seed ${seed}, ${runs} cases${path !== undefined && path !== '' ? `, replaying path ${path}` : ''}`);
  const details = await fc.check(property, {
    numRuns: runs,
    seed,
    ...(path !== undefined && path !== '' ? { path } : {}),
    plugins: [fc.timeout(caseTimeoutMs)],
  });
  if (details.failed) {
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    const report = `${fc.defaultReportMessage(details) ?? 'the property failed'}\nError: ${error}`;
    const replay = `FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath ?? ''} npm run test:fuzz -- --match ${JSON.stringify(t.title)}`;
    t.fail(`${report}\n\nreplay: ${replay}`);
  }
  return details.numRuns;
}

/** Throws (failing the case) unless `condition` holds; `why` is called only on failure. */
export function check(condition: boolean, why: () => string): asserts condition {
  if (!condition) throw new Error(why());
}

/** Counts of what the cases saw (status classes, codes), so a test can assert it reached both sides of each edge. */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** The keys seen, as `key=count`, for a failure message or the test log. */
  toString(): string {
    return [...this.counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k}=${n}`).join(' ');
  }
}

// ---- values that break parsers ----

/** Keys that mean something to JavaScript objects, to catch prototype tricks. */
export const TRICKY_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', ''] as const;

/** Numbers at the edges of every range a field might check. */
export const edgeNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 2, 65535, 65536, 1000, 1001, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e308, -1e308, 5e-324, 0.5, 1.5, 1e-7),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Strings that are hard to handle: empty, huge, control characters, any code point, lone-looking escapes. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string() },
  { weight: 2, arbitrary: fc.string({ unit: 'binary' }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii' }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u0000', '\r\n', '%', '%zz', '\uFEFF', '\u202E', '..', '../..', '*', 'null', 'true', '0', '-1', 'NaN', '1e309') },
  { weight: 1, arbitrary: fc.constantFrom(...TRICKY_KEYS) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('a', 'é', '\u{1F600}', '%', '-'), fc.integer({ min: 200, max: 70_000 })).map(([c, n]) => c.repeat(n)) },
);

/** Keys for objects: ordinary ones, the tricky ones, and random text. */
export const nastyKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom(...TRICKY_KEYS) },
  { weight: 1, arbitrary: nastyString },
);

/** Any JSON value, with nasty strings and keys and numbers at the edges. */
export const nastyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    edgeNumber,
    nastyString,
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(nastyKey, tie('value'), { maxKeys: 6 }),
  ),
})).value;

/** `[[[[...]]]]` or `{"a":{"a":...}}` this deep, as text (JSON.stringify would recurse). */
export function deepJsonText(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/**
 * Structure-aware mutations of a valid JSON object: one field gets a wrong type, an edge
 * number, a nasty or huge string, deep nesting, or goes missing; an unknown or tricky key is
 * added; or the whole object is replaced by another JSON value.
 */
export function mutatedObject(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  const field = fc.constantFrom(...keys);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(valid) },
    { weight: 4, arbitrary: fc.tuple(field, nastyJson).map(([k, v]) => ({ ...valid, [k]: v })) },
    { weight: 2, arbitrary: fc.tuple(field, edgeNumber).map(([k, v]) => ({ ...valid, [k]: v })) },
    { weight: 2, arbitrary: fc.tuple(field, nastyString).map(([k, v]) => ({ ...valid, [k]: v })) },
    { weight: 1, arbitrary: fc.tuple(field, fc.integer({ min: 1, max: 2000 })).map(([k, depth]) => ({ ...valid, [k]: nest(depth) })) },
    { weight: 2, arbitrary: fc.subarray(keys).map((drop) => Object.fromEntries(Object.entries(valid).filter(([k]) => !drop.includes(k)))) },
    { weight: 2, arbitrary: fc.tuple(nastyKey, nastyJson).map(([k, v]) => withOwnKey(valid, k, v)) },
    { weight: 1, arbitrary: nastyJson },
  );
}

/** An object nested `depth` levels: {"a": {"a": ... 1}}. Built iteratively. */
function nest(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

/** A copy with an own property `key` (even `__proto__`, which plain assignment would not create). */
function withOwnKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy = { ...obj };
  Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
  return copy;
}

/** Raw bodies that are not what they claim: bad UTF-8, truncated JSON, a BOM, deep nesting (whole, or in one field). */
export function rawBodies(valid: unknown): fc.Arbitrary<Buffer> {
  const text = JSON.stringify(valid) ?? 'null';
  const keys = valid !== null && typeof valid === 'object' && !Array.isArray(valid) ? Object.keys(valid) : [];
  const deepField =
    keys.length === 0
      ? []
      : [
          {
            weight: 2,
            arbitrary: fc
            .tuple(fc.constantFrom(...keys), fc.integer({ min: 1000, max: 200_000 }), fc.constantFrom<'array' | 'object'>('array', 'object'))
            .map(([k, d, kind]) => Buffer.from(JSON.stringify({ ...(valid as Record<string, unknown>), [k]: '\u0000deep' }).replace('"\\u0000deep"', deepJsonText(d, kind)))),
          },
        ];
  return fc.oneof(
    ...deepField,
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    fc.integer({ min: 0, max: Math.max(0, text.length - 1) }).map((n) => Buffer.from(text.slice(0, n))),
    fc.constant(Buffer.from(`\uFEFF${text}`)),
    fc.constant(Buffer.concat([Buffer.from(text.slice(0, 1)), Buffer.from([0xc0, 0x80, 0xff]), Buffer.from(text.slice(1))])),
    fc.tuple(fc.integer({ min: 1000, max: 200_000 }), fc.constantFrom<'array' | 'object'>('array', 'object')).map(([d, k]) => Buffer.from(deepJsonText(d, k))),
    fc.constant(Buffer.from(`${text}${text}`)),
    fc.constant(Buffer.from(text.replace(/"/g, "'"))),
  );
}
