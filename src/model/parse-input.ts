import type { z } from 'zod';
import { OutriggerError, type ErrorCode } from '../common/errors.js';

/** Renders a zod issue path the way users write it: `upstreams[0].local_port`. */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const part of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[part];
  }
  return cur;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Parses input with a zod schema; on failure throws an OutriggerError whose field is the path of
 * the first problem and whose message names the field, the value given and what is allowed.
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix = '',
  code: ErrorCode = 'invalid_argument',
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const field = formatPath(prefix, [...issue.path, key]);
    throw new OutriggerError(code, `${field}: unknown key (check the spelling; allowed keys are listed in the README)`, field);
  }
  if (issue.code === 'invalid_key') {
    // A record key failed its own schema: the useful message is the nested one.
    const field = formatPath(prefix, issue.path.slice(0, -1));
    const key = String(issue.path[issue.path.length - 1]);
    throw new OutriggerError(code, `${field}: ${issue.issues[0]?.message ?? 'invalid key'}, got key ${show(key)}`, field);
  }
  const field = formatPath(prefix, issue.path);
  const shown = field === '' ? 'input' : field;
  // Custom checks (sizes, counts) already say what they got.
  const got = issue.code === 'custom' && issue.message.includes(' got ') ? '' : `, got ${show(valueAt(input, issue.path))}`;
  throw new OutriggerError(code, `${shown}: ${issue.message}${got}`, shown);
}
