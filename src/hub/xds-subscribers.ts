/**
 * The xDS server's subscribers as the dashboard, `GET /api/v1/xds/subscribers` and
 * `outrigger status` show them: what each stream subscribes to, the version it ACKed per type,
 * its NACKs, how long since its last ACK, and whether it is stale.
 */
import { shortTypeName } from '../xds/type-urls.js';
import type { AdsStreamInfo } from '../xds/server/sotw-stream.js';

/**
 * A subscriber that has left a response un-ACKed (unanswered or NACKed) this long runs an older
 * config than the hub serves: it is stale. A sidecar ACKs within milliseconds.
 */
export const XDS_STALE_AFTER_MS = 30_000;

export interface SubscriberTypeJson {
  type: string;
  wildcard: boolean;
  names: string[];
  sent_version: string | null;
  acked_version: string | null;
  nack: { version: string; message: string } | null;
}

export interface SubscriberJson {
  stream: number;
  node: string;
  address: string;
  connected_at: string;
  last_ack_at: string | null;
  /** Milliseconds since the last ACK; null before the first. */
  since_last_ack_ms: number | null;
  stale: boolean;
  types: SubscriberTypeJson[];
}

export function subscriberToJson(info: AdsStreamInfo, now: number): SubscriberJson {
  return {
    stream: info.id,
    node: info.node ?? '',
    address: info.peer,
    connected_at: new Date(info.opened_at).toISOString(),
    last_ack_at: info.last_ack_at === undefined ? null : new Date(info.last_ack_at).toISOString(),
    since_last_ack_ms: info.last_ack_at === undefined ? null : Math.max(0, now - info.last_ack_at),
    stale: isStale(info, now),
    types: info.types.map((t) => ({
      type: shortTypeName(t.type_url),
      wildcard: t.wildcard,
      names: t.names,
      sent_version: t.sent_version ?? null,
      acked_version: t.acked_version ?? null,
      // A delta stream NACKs a response (by its nonce), not one version of the type.
      nack: t.nack !== undefined ? { version: 'version' in t.nack ? t.nack.version : `nonce ${t.nack.nonce}`, message: t.nack.message } : null,
    })),
  };
}

export function isStale(info: AdsStreamInfo, now: number): boolean {
  return info.unacked_since !== undefined && now - info.unacked_since >= XDS_STALE_AFTER_MS;
}
