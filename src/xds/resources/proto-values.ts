/**
 * Plain-object forms of the well-known protobuf values the resource builders use, ready for
 * protobufjs fromObject. Struct's members are camelCase because protobufjs bundles
 * google/protobuf/struct.proto in its JSON form.
 */
export interface DurationValue {
  seconds: number;
  nanos: number;
}

export function durationOf(ms: number): DurationValue {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

/** google.protobuf.UInt32Value / UInt64Value. */
export interface UIntValue {
  value: number;
}

export const uint = (value: number): UIntValue => ({ value });

/** envoy.type.v3.Percent. */
export interface PercentValue {
  value: number;
}

export type StructValue =
  | { nullValue: 'NULL_VALUE' }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: StructMessage }
  | { listValue: { values: StructValue[] } };

export interface StructMessage {
  fields: Record<string, StructValue>;
}

function toValue(value: unknown): StructValue | undefined {
  if (value === null) return { nullValue: 'NULL_VALUE' };
  switch (typeof value) {
    case 'number':
      return { numberValue: value };
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    case 'object':
      if (Array.isArray(value)) {
        return { listValue: { values: value.map((v) => toValue(v) ?? { nullValue: 'NULL_VALUE' }) } };
      }
      return { structValue: toStruct(value as Record<string, unknown>) };
    default:
      // undefined, functions, symbols and bigints have no JSON form: left out, as JSON.stringify does.
      return undefined;
  }
}

/** A JSON-like object as google.protobuf.Struct. */
export function toStruct(obj: Readonly<Record<string, unknown>>): StructMessage {
  const fields: Record<string, StructValue> = {};
  for (const key of Object.keys(obj).sort()) {
    const v = toValue(obj[key]);
    if (v !== undefined) fields[key] = v;
  }
  return { fields };
}

function fromValue(v: Partial<Record<string, unknown>>): unknown {
  if ('structValue' in v) return fromStruct(v.structValue as StructMessage);
  if ('listValue' in v) return ((v.listValue as { values?: Partial<Record<string, unknown>>[] }).values ?? []).map(fromValue);
  if ('stringValue' in v) return v.stringValue;
  if ('numberValue' in v) return v.numberValue;
  if ('boolValue' in v) return v.boolValue;
  return null;
}

/** A decoded google.protobuf.Struct back as a plain object (the sidecar reads cluster metadata this way). */
export function fromStruct(struct: { fields?: Record<string, unknown> } | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(struct?.fields ?? {})) out[k] = fromValue(v as Partial<Record<string, unknown>>);
  return out;
}
