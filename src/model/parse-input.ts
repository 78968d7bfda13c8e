/**
 * Input from outside parsed with a zod schema, and its problems said in one voice everywhere
 * (config files, flags, environment, REST and gRPC bodies, health checks, service configs):
 *
 *   `<field as users write it>: <what is allowed>, got <what was given>`
 *
 * A schema's own message wins; zod's built-in issues are put in words here. An unknown key
 * names the keys allowed where it sits.
 */
import type { z } from 'zod';
import { OutriggerError, type ErrorCode } from '../common/errors.js';

type Issue = z.core.$ZodIssue;

/** Renders a zod issue path the way users write it: `upstreams[0].local_port`. */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** A value as an error message shows it: JSON, cut at 80 characters. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const part of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[part];
  }
  return cur;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/** zod's built-in issues in words; used only where the schema gives no message of its own. */
function inWords(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      return issue.input === undefined ? `is required (${expected})` : `must be ${expected}`;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'string') return min <= 1 ? 'must not be empty' : `must be at least ${min} characters`;
      if (issue.origin === 'array') return `must have at least ${min} item${min === 1 ? '' : 's'}`;
      return issue.inclusive === false ? `must be greater than ${min}` : `must be at least ${min}`;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${max} characters`;
      if (issue.origin === 'array') return `must have at most ${max} items`;
      return issue.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_format':
      return `must be a valid ${issue.format}`;
    case 'invalid_union':
      return 'matches none of the allowed forms';
    default:
      return 'is not valid here';
  }
}

interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  getter?: () => z.ZodType;
}

const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** The keys an object schema takes at `path`, looking through defaults, optionals and pipes. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let cur: z.ZodType | undefined = schema;
  let i = 0;
  for (let guard = 0; cur !== undefined && guard < 64; guard++) {
    const def = defOf(cur);
    if (def.innerType !== undefined) cur = def.innerType;
    else if (def.type === 'pipe') cur = def.in;
    else if (def.type === 'lazy') cur = def.getter?.();
    else if (i === path.length) return def.shape !== undefined ? Object.keys(def.shape) : undefined;
    else if (def.shape !== undefined) cur = def.shape[String(path[i++])];
    else if (def.element !== undefined || def.valueType !== undefined) {
      cur = def.element ?? def.valueType;
      i++;
    } else return undefined;
  }
  return undefined;
}

function describe(schema: z.ZodType, input: unknown, issue: Issue, prefix: string): { field: string; text: string } {
  if (issue.code === 'unrecognized_keys') {
    const field = formatPath(prefix, [...issue.path, issue.keys[0] ?? '']);
    const names = issue.keys.map((k) => `"${k}"`).join(', ');
    const allowed = keysAt(schema, issue.path);
    return { field, text: `${field}: unknown key ${names}; ${allowed === undefined ? 'check the spelling' : `allowed keys are ${allowed.join(', ')}`}` };
  }
  if (issue.code === 'invalid_key') {
    // A record key failed its own schema: the useful message is the nested one.
    const field = formatPath(prefix, issue.path.slice(0, -1)) || 'input';
    const key = String(issue.path[issue.path.length - 1]);
    return { field, text: `${field}: ${issue.issues[0]?.message ?? 'invalid key'}, got key ${showValue(key)}` };
  }
  const field = formatPath(prefix, issue.path) || 'input';
  const given = 'input' in issue ? issue.input : valueAt(input, issue.path);
  // Messages that already say what they got, or that the value is missing, need no "got".
  const got = / got |^is required/.test(issue.message) ? '' : `, got ${showValue(given)}`;
  return { field, text: `${field}: ${issue.message}${got}` };
}

/**
 * Parses input with a zod schema; on failure throws an OutriggerError whose field is the path of
 * the first problem and whose message names every problem: the field, what is allowed, and the
 * value given.
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, prefix = '', code: ErrorCode = 'invalid_argument'): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true, error: inWords });
  if (result.success) return result.data;
  const described = result.error.issues.map((issue) => describe(schema, input, issue, prefix));
  const first = described[0]!;
  throw new OutriggerError(code, described.map((d) => d.text).join('; '), first.field);
}
