/**
 * Validation of one DiscoveryResponse as a whole: every resource is unpacked and decoded, and a
 * single bad one rejects the response (the NACK keeps the last good version of everything in
 * it, as Envoy and grpc-js do), so a half-applied update can never be routed on.
 */
import { decodeAny } from '../envoy-protos.js';
import type { ResourceDecoder } from '../resources/decode-result.js';
import type { ClientDiscoveryResponse } from './ads-client-wire.js';

export interface ResourceRejection {
  /** The resource, when it could be named. */
  readonly name: string | undefined;
  readonly message: string;
}

export type ResponseResult<T> =
  | { readonly ok: true; readonly resources: ReadonlyMap<string, T> }
  | { readonly ok: false; readonly rejections: readonly ResourceRejection[]; readonly detail: string };

/** A NACK's error_detail is logged by the hub: enough to act on, bounded in size. */
export const MAX_DETAIL_LENGTH = 4096;

function clip(text: string): string {
  return text.length <= MAX_DETAIL_LENGTH ? text : `${text.slice(0, MAX_DETAIL_LENGTH - 1)}…`;
}

export function decodeResponse<T>(decoder: ResourceDecoder<T>, response: ClientDiscoveryResponse): ResponseResult<T> {
  const resources = new Map<string, T>();
  const rejections: ResourceRejection[] = [];
  for (const [i, any] of response.resources.entries()) {
    const where = `resources[${i}]`;
    if (any.type_url !== decoder.typeUrl) {
      rejections.push({ name: undefined, message: `${where}: a ${any.type_url} in a ${decoder.kind} response` });
      continue;
    }
    let message: Record<string, unknown>;
    try {
      message = decodeAny(any);
    } catch (err) {
      rejections.push({ name: undefined, message: `${where}: not a valid ${decoder.kind}: ${err instanceof Error ? err.message : String(err)}` });
      continue;
    }
    const result = decoder.decode(message, response.version_info);
    if (!result.ok) {
      rejections.push({ name: result.name, message: `${decoder.kind} ${result.name ?? where}: ${result.error}` });
    } else if (resources.has(result.name)) {
      rejections.push({ name: result.name, message: `${decoder.kind} ${result.name}: sent twice in one response` });
    } else {
      resources.set(result.name, result.value);
    }
  }
  if (rejections.length === 0) return { ok: true, resources };
  const detail = clip(`rejected ${decoder.kind} version ${response.version_info}: ${rejections.map((r) => r.message).join('; ')}`);
  return { ok: false, rejections, detail };
}
