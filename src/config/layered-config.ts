import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { z } from 'zod';
import { OutriggerError } from '../common/errors.js';
import { parseWith } from '../model/parse-input.js';

export const ENV_PREFIX = 'OUTRIGGER_';

/** One settable leaf of a config schema, with the names it goes by in each layer. */
export interface ConfigOption {
  /** Dotted path as written in YAML: `self_preservation.enabled`. */
  key: string;
  flag: string;
  env: string;
  type: 'integer' | 'number' | 'boolean' | 'string' | 'duration' | 'json';
  description: string;
  default?: unknown;
  choices?: readonly unknown[];
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
}

const flagOf = (key: string): string => `--${key.replaceAll('_', '-')}`;
const envOf = (key: string): string => ENV_PREFIX + key.toUpperCase().replaceAll('.', '__');

function typeOf(node: JsonSchema): ConfigOption['type'] {
  const t = node.type ?? node.anyOf?.map((a) => a.type).flat();
  const types = Array.isArray(t) ? t : [t];
  if (types.includes('number') && types.includes('string')) return 'duration';
  if (types.length === 1 && (types[0] === 'integer' || types[0] === 'number' || types[0] === 'boolean' || types[0] === 'string')) return types[0];
  if (node.enum !== undefined) return 'string';
  return 'json';
}

/** Lists every option of a config schema (from its JSON Schema form), for flags, env and help. */
export function describeOptions(schema: z.ZodType): ConfigOption[] {
  const root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out: ConfigOption[] = [];
  const walk = (node: JsonSchema, prefix: string): void => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const key = prefix === '' ? name : `${prefix}.${name}`;
      if (child.type === 'object' && child.properties !== undefined) {
        walk(child, key);
        continue;
      }
      out.push({
        key,
        flag: flagOf(key),
        env: envOf(key),
        type: typeOf(child),
        description: child.description ?? '',
        ...(child.default !== undefined ? { default: child.default } : {}),
        ...(child.enum !== undefined ? { choices: child.enum } : {}),
      });
    }
  };
  walk(root, '');
  return out;
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = target;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** Text from an env var or flag, read as the option's type; left as text when it does not fit, so validation reports it. */
function fromText(text: string, type: ConfigOption['type']): unknown {
  if (type === 'string') return text;
  if (type === 'duration') return /^\d+(\.\d+)?$/.test(text) ? Number(text) : text;
  try {
    return YAML.parse(text) as unknown;
  } catch {
    return text;
  }
}

function parseFlags(options: readonly ConfigOption[], args: readonly string[]): ReturnType<typeof parseArgs> {
  const flagSpec: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    config: { type: 'string', short: 'c' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const o of options) flagSpec[o.flag.slice(2)] = { type: 'string' };
  try {
    return parseArgs({ args: [...args], options: flagSpec, strict: true, allowPositionals: true });
  } catch (err) {
    throw new OutriggerError('config_invalid', `${(err as Error).message}; see --help for the flags this command takes`);
  }
}

/**
 * Whether the flags ask for --help. Checked before loadConfig, so help is shown even when the
 * config is incomplete or wrong (a required key not set yet is the usual reason to ask).
 */
export function wantsHelp(schema: z.ZodType, args: readonly string[]): boolean {
  return parseFlags(describeOptions(schema), args).values.help === true;
}

export interface LoadOptions {
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Read a file; injectable for tests. */
  readFile?: (path: string) => string;
}

export interface LoadedConfig<T> {
  config: T;
  /** Where the config file came from, if any. */
  file?: string;
  positionals: string[];
}

/**
 * Loads a config in layers — defaults, then a YAML file (`--config` / OUTRIGGER_CONFIG), then
 * OUTRIGGER_* environment variables, then flags; a later layer wins. Validation happens once,
 * on the merged result, and an error names the key, where it came from, the value and what is
 * allowed.
 */
export function loadConfig<S extends z.ZodType>(schema: S, opts: LoadOptions): LoadedConfig<z.output<S>> {
  const options = describeOptions(schema);
  const parsed = parseFlags(options, opts.args);
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const merged: Record<string, unknown> = {};
  const origin = new Map<string, string>();

  const file = (values.config as string | undefined) ?? opts.env[`${ENV_PREFIX}CONFIG`];
  if (file !== undefined && file !== '') {
    let text: string;
    try {
      text = (opts.readFile ?? ((p) => readFileSync(p, 'utf8')))(file);
    } catch (err) {
      throw new OutriggerError('config_invalid', `config file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'config');
    }
    let doc: unknown;
    try {
      doc = YAML.parse(text);
    } catch (err) {
      throw new OutriggerError('config_invalid', `config file ${file} is not valid YAML: ${(err as Error).message}`, 'config');
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== 'object' || Array.isArray(doc)) {
        throw new OutriggerError('config_invalid', `config file ${file} must hold a mapping of keys to values`, 'config');
      }
      Object.assign(merged, doc);
    }
  }
  for (const o of options) {
    const text = opts.env[o.env];
    if (text === undefined || text === '') continue;
    setPath(merged, o.key, fromText(text, o.type));
    origin.set(o.key, `environment variable ${o.env}`);
  }
  for (const o of options) {
    const text = values[o.flag.slice(2)];
    if (typeof text !== 'string') continue;
    setPath(merged, o.key, fromText(text, o.type));
    origin.set(o.key, `flag ${o.flag}`);
  }

  try {
    return { config: parseWith(schema, merged, '', 'config_invalid'), positionals: parsed.positionals, ...(file !== undefined && file !== '' ? { file } : {}) };
  } catch (err) {
    if (!(err instanceof OutriggerError) || err.field === undefined) throw err;
    const from = origin.get(err.field) ?? (file !== undefined ? `config file ${file}` : undefined);
    throw from === undefined ? err : new OutriggerError(err.code, `${err.message} (from ${from})`, err.field);
  }
}

/** Help text for a command's options: one line a flag, with its env var and default. */
export function formatOptionsHelp(schema: z.ZodType): string {
  const lines: string[] = [];
  for (const o of describeOptions(schema)) {
    const def = o.default === undefined ? '' : ` (default: ${JSON.stringify(o.default)})`;
    const choices = o.choices === undefined ? '' : ` [${o.choices.join('|')}]`;
    lines.push(`  ${o.flag} <${o.type}>${choices}`);
    lines.push(`      ${o.description}${def}; env ${o.env}`);
  }
  return lines.join('\n');
}
