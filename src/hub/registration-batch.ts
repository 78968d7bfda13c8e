import { OutriggerError, invalidArgument } from '../common/errors.js';
import type { Instance } from '../registry/model.js';
import type { RegistrationCheck, Registry } from '../registry/registry.js';

/** Items one batch may hold. */
export const MAX_BATCH_ITEMS = 10_000;

export type BatchItemResult = { index: number; instance: Instance; error?: undefined } | { index: number; instance?: undefined; error: OutriggerError };

/** One item as the registry takes it, and how to put the registry's errors in the caller's terms. */
export interface BatchItemInput {
  input: Record<string, unknown>;
  inCallerTerms?: (err: unknown) => unknown;
}

/**
 * Registers a batch (gRPC RegisterBatch, REST POST /api/v1/services:batch): each item exactly as
 * a single registration, through the same validation and the same access check. Not atomic: an
 * item that fails refuses only itself, with an error naming `items[<index>]` and its field. The
 * items are applied in one synchronous pass, so no registry subscriber runs between two of them:
 * the xDS server's coalescing window takes the whole batch, and sidecars get one push.
 */
export function registerBatch(registry: Registry, items: unknown, check: RegistrationCheck, toInput: (item: unknown, at: string) => BatchItemInput): BatchItemResult[] {
  if (!Array.isArray(items)) throw invalidArgument('items', 'items: must be a list of registrations');
  if (items.length === 0 || items.length > MAX_BATCH_ITEMS) {
    throw invalidArgument('items', `items: must hold 1 to ${MAX_BATCH_ITEMS} registrations, got ${items.length}`);
  }
  const results: BatchItemResult[] = [];
  for (const [index, raw] of items.entries() as IterableIterator<[number, unknown]>) {
    const at = `items[${index}]`;
    let item: BatchItemInput | undefined;
    try {
      item = toInput(raw, at);
      results.push({ index, instance: registry.register(item.input, check) });
    } catch (err) {
      const e = item?.inCallerTerms?.(err) ?? err;
      if (!(e instanceof OutriggerError)) throw e;
      results.push({ index, error: itemError(e, at) });
    }
  }
  return results;
}

/** The item's error, its field and message prefixed with the item's place in the batch. */
function itemError(err: OutriggerError, at: string): OutriggerError {
  if (err.field?.startsWith(at) === true) return err;
  if (err.field === undefined || err.field === '') return new OutriggerError(err.code, `${at}: ${err.message}`, at);
  // Messages start with the field they name ("port: must be ..."): keep that form.
  const message = err.message.startsWith(`${err.field}:`) ? `${at}.${err.message}` : `${at}: ${err.message}`;
  return new OutriggerError(err.code, message, `${at}.${err.field}`);
}
