/**
 * google.protobuf.Struct ↔ plain JSON. Service configs travel as Structs so that the config's
 * schema lives in one place (the registry's parser) for REST and gRPC alike.
 */
import { invalidArgument } from '../common/errors.js';
import type { WireStruct, WireValue } from './messages.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Deeper than any config needs; stops a hostile message from recursing without end. */
const MAX_DEPTH = 32;

export function toStruct(obj: Readonly<Record<string, unknown>>): WireStruct {
  const fields: Record<string, WireValue> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v !== undefined) fields[k] = toValue(v);
  }
  return { fields };
}

function toValue(v: unknown): WireValue {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (typeof v === 'object') return { structValue: toStruct(v as Record<string, unknown>) };
  return { stringValue: String(v) };
}

/** Reads a Struct back as JSON; `field` names it in errors. */
export function fromStruct(struct: WireStruct, field: string, depth = 0): Record<string, JsonValue> {
  if (depth > MAX_DEPTH) throw invalidArgument(field, `${field}: nested more than ${MAX_DEPTH} levels deep`);
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(struct.fields ?? {})) out[k] = fromValue(v, `${field}.${k}`, depth + 1);
  return out;
}

function fromValue(v: WireValue, field: string, depth: number): JsonValue {
  if (depth > MAX_DEPTH) throw invalidArgument(field, `${field}: nested more than ${MAX_DEPTH} levels deep`);
  const num = v.numberValue ?? v.number_value;
  if (num !== undefined) return num;
  const str = v.stringValue ?? v.string_value;
  if (str !== undefined) return str;
  const bool = v.boolValue ?? v.bool_value;
  if (bool !== undefined) return bool;
  const struct = v.structValue ?? v.struct_value;
  if (struct !== undefined) return fromStruct(struct, field, depth);
  const list = v.listValue ?? v.list_value;
  if (list !== undefined) return (list.values ?? []).map((item, i) => fromValue(item, `${field}[${i}]`, depth + 1));
  // A Value with nothing set, or null_value, is JSON null.
  return null;
}
