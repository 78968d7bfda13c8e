/**
 * The contract of an xDS resource decoder on the client side: one class per resource type turns
 * a decoded message into a validated value or a reason to reject it. The ADS client knows
 * nothing about the types beyond this, so adding a type is adding a decoder.
 */

/** A decoded resource, or why it is rejected (`name` when the message named itself). */
export type DecodeResult<T> =
  | { readonly ok: true; readonly name: string; readonly value: T }
  | { readonly ok: false; readonly name: string | undefined; readonly error: string };

export interface ResourceDecoder<T> {
  readonly typeUrl: string;
  /** A short type name for NACK messages and logs, e.g. `Cluster`. */
  readonly kind: string;
  /** Validates a message decoded from its Any (enums as names, 64-bit ints as strings). */
  decode(message: Readonly<Record<string, unknown>>, version: string): DecodeResult<T>;
  /** Same content (the version is not content): an identical resend notifies nobody. */
  equal(a: T, b: T): boolean;
}

/**
 * Thrown inside a decoder to reject the resource; `field` is the path within the message,
 * so the NACK tells the control plane exactly what was wrong.
 */
export class ResourceProblem extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(field === '' ? message : `${field}: ${message}`);
  }
}

export const reject = (field: string, message: string): never => {
  throw new ResourceProblem(field, message);
};

/** JSON with object keys sorted at every level: equal content gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** Runs a decoder body, turning a ResourceProblem (or anything thrown) into a rejection. */
export function decodeWith<T>(name: string | undefined, body: () => { name: string; value: T }): DecodeResult<T> {
  try {
    const out = body();
    return { ok: true, name: out.name, value: out.value };
  } catch (err) {
    return { ok: false, name, error: err instanceof Error ? err.message : String(err) };
  }
}
