import { fromStruct, toStruct, type StructMessage } from './proto-values.js';

/**
 * Outrigger's own settings ride in Envoy's `metadata.filter_metadata` under this key: Envoy and
 * proxyless clients ignore it, our sidecar reads exact values back (e.g. the policy name that
 * `lb_policy` can only approximate).
 */
export const OUTRIGGER_METADATA_KEY = 'outrigger';

export interface MetadataMessage {
  filter_metadata: Record<string, StructMessage>;
}

export function outriggerMetadata(values: Readonly<Record<string, unknown>>): MetadataMessage {
  return { filter_metadata: { [OUTRIGGER_METADATA_KEY]: toStruct(values) } };
}

/** The `outrigger` entry of a decoded envoy.config.core.v3.Metadata, as a plain object. */
export function readOutriggerMetadata(metadata: unknown): Record<string, unknown> | undefined {
  if (metadata === null || typeof metadata !== 'object') return undefined;
  const fm = (metadata as { filter_metadata?: Record<string, { fields?: Record<string, unknown> }> }).filter_metadata;
  const entry = fm?.[OUTRIGGER_METADATA_KEY];
  return entry === undefined ? undefined : fromStruct(entry);
}
