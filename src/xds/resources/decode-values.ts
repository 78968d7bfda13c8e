/**
 * Readers for decoded protobuf messages (plain objects from protobufjs toObject with
 * `defaults: false`: a field at its default is absent). Each reader checks the shape it expects
 * and names the field when it does not find it, so decoders stay free of type juggling.
 */
import { reject } from './decode-result.js';

export type Message = Readonly<Record<string, unknown>>;

const isObject = (v: unknown): v is Message => v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);

export const join = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;

/** A sub-message, or undefined when absent. */
export function messageAt(msg: Message, key: string, path: string): Message | undefined {
  const v = msg[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) return reject(join(path, key), 'must be a message');
  return v;
}

/** A repeated message field (absent means empty). */
export function listAt(msg: Message, key: string, path: string): Message[] {
  const v = msg[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return reject(join(path, key), 'must be a list');
  return v.map((item, i) => (isObject(item) ? item : reject(join(join(path, key), i), 'must be a message')));
}

export function stringAt(msg: Message, key: string, path: string): string {
  const v = msg[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') return reject(join(path, key), 'must be a string');
  return v;
}

/** An integer field; 64-bit ones arrive as decimal strings. */
export function integerAt(msg: Message, key: string, path: string): number | undefined {
  const v = msg[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) return reject(join(path, key), `must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

/** google.protobuf.UInt32Value / UInt64Value: the number inside, or undefined when unset. */
export function wrappedUIntAt(msg: Message, key: string, path: string): number | undefined {
  const w = messageAt(msg, key, path);
  if (w === undefined) return undefined;
  return integerAt(w, 'value', join(path, key)) ?? 0;
}

/** envoy.type.v3.Percent / google.protobuf.DoubleValue: the number inside, or undefined when unset. */
export function wrappedNumberAt(msg: Message, key: string, path: string): number | undefined {
  const w = messageAt(msg, key, path);
  if (w === undefined) return undefined;
  const v = w['value'] ?? 0;
  if (typeof v !== 'number' || !Number.isFinite(v)) return reject(join(join(path, key), 'value'), 'must be a finite number');
  return v;
}

/** google.protobuf.Duration in milliseconds, or undefined when unset. */
export function durationMsAt(msg: Message, key: string, path: string): number | undefined {
  const d = messageAt(msg, key, path);
  if (d === undefined) return undefined;
  const field = join(path, key);
  const seconds = integerAt(d, 'seconds', field) ?? 0;
  const nanos = integerAt(d, 'nanos', field) ?? 0;
  if (seconds < 0 || nanos < 0) return reject(field, 'must not be negative');
  return seconds * 1000 + Math.round(nanos / 1_000_000);
}
