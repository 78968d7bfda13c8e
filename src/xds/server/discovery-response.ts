import protobuf from 'protobufjs';
import type { CachedResource } from './resource-cache.js';

/** Identifies this control plane in every response (envoy.config.core.v3.ControlPlane). */
export const CONTROL_PLANE_ID = 'outrigger-hub';

// DiscoveryResponse field tags (field number << 3 | wire type 2, length-delimited).
const VERSION_INFO = (1 << 3) | 2;
const RESOURCES = (2 << 3) | 2;
const TYPE_URL = (4 << 3) | 2;
const NONCE = (5 << 3) | 2;
const CONTROL_PLANE = (6 << 3) | 2;
const CONTROL_PLANE_IDENTIFIER = (1 << 3) | 2;
// DeltaDiscoveryResponse: system_version_info 1, resources 2, type_url 4, nonce 5, removed_resources 6, control_plane 7.
const DELTA_REMOVED = (6 << 3) | 2;
const DELTA_CONTROL_PLANE = (7 << 3) | 2;
// envoy.service.discovery.v3.Resource: version 1, resource (Any) 2, name 3.
const RESOURCE_VERSION = (1 << 3) | 2;
const RESOURCE_ANY = (2 << 3) | 2;
const RESOURCE_NAME = (3 << 3) | 2;

export interface EncoderLimits {
  /** Responses kept at most (distinct type, version and resource list combinations). */
  maxEntries: number;
  /** Bytes of responses and their keys (a key lists resource names) kept at most. */
  maxBytes: number;
}

/** One DiscoveryResponse, encoded once and written as the same bytes to every stream that needs it. */
export interface EncodedResponse {
  /** The whole message, nonce included. */
  readonly bytes: Buffer;
  readonly nonce: string;
  readonly version: string;
}

/**
 * Writes envoy.service.discovery.v3.DiscoveryResponse bytes straight from the cached Any
 * encodings, without decoding or re-encoding a resource, once per (type, version, resource
 * list): every stream asking for the same thing at the same version gets the same Buffer, so a
 * push to thousands of streams costs one encoding and no per-stream copy of ours.
 *
 * That needs a shareable nonce. A nonce only has to be unique within one stream (xDS: it pairs
 * a request with the response it answers), so it is derived from the response itself: its
 * version and the sequence number of its (type, version, resource list) entry. The sequence
 * grows for every encoding and is never reused, so two different responses never carry the same
 * nonce, on one stream or across streams; the same response sent twice carries the same one.
 */
export class ResponseEncoder {
  private readonly responses = new Map<string, EncodedResponse>();
  private bytes = 0;
  private built = 0;

  constructor(private readonly limits: EncoderLimits = { maxEntries: 512, maxBytes: 64 * 1024 * 1024 }) {}

  /**
   * The shared response for `key` (which must identify the resource list) at `version`;
   * `resources` is called only when it is not cached.
   */
  response(typeUrl: string, version: string, key: string, resources: () => Iterable<CachedResource>): EncodedResponse {
    const id = `${typeUrl}\u0000${version}\u0000${key}`;
    const cached = this.responses.get(id);
    if (cached !== undefined) return cached;
    const nonce = `${version}-${++this.built}`;
    const w = protobuf.Writer.create();
    for (const r of resources()) w.uint32(RESOURCES).bytes(r.any);
    w.uint32(VERSION_INFO).string(version);
    w.uint32(TYPE_URL).string(typeUrl);
    w.uint32(CONTROL_PLANE).fork().uint32(CONTROL_PLANE_IDENTIFIER).string(CONTROL_PLANE_ID).ldelim();
    w.uint32(NONCE).string(nonce);
    return this.keep(id, this.finish(w, nonce, version));
  }

  /**
   * The shared DeltaDiscoveryResponse carrying these resources (each with its own version) and
   * removals. Its key is the list itself, names with versions, so streams that need the same
   * change share it; `systemVersion` is informational (the type's version).
   */
  delta(typeUrl: string, systemVersion: string, resources: readonly CachedResource[], removed: readonly string[]): EncodedResponse {
    let key = `\u0001${typeUrl}`;
    for (const r of resources) key += `\u0000${r.name}@${r.version}`;
    for (const name of removed) key += `\u0000-${name}`;
    const cached = this.responses.get(key);
    if (cached !== undefined) return cached;
    const nonce = `${systemVersion}-${++this.built}`;
    const w = protobuf.Writer.create();
    w.uint32(VERSION_INFO).string(systemVersion);
    for (const r of resources) {
      w.uint32(RESOURCES).fork().uint32(RESOURCE_VERSION).string(r.version).uint32(RESOURCE_ANY).bytes(r.any).uint32(RESOURCE_NAME).string(r.name).ldelim();
    }
    w.uint32(TYPE_URL).string(typeUrl);
    w.uint32(NONCE).string(nonce);
    for (const name of removed) w.uint32(DELTA_REMOVED).string(name);
    w.uint32(DELTA_CONTROL_PLANE).fork().uint32(CONTROL_PLANE_IDENTIFIER).string(CONTROL_PLANE_ID).ldelim();
    return this.keep(key, this.finish(w, nonce, systemVersion));
  }

  private finish(w: protobuf.Writer, nonce: string, version: string): EncodedResponse {
    const u8 = w.finish();
    return { bytes: Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength), nonce, version };
  }

  /** Bounded: past the limits a response is still returned, just not kept. */
  private keep(id: string, out: EncodedResponse): EncodedResponse {
    const size = out.bytes.length + id.length;
    if (this.responses.size < this.limits.maxEntries && this.bytes + size <= this.limits.maxBytes) {
      this.responses.set(id, out);
      this.bytes += size;
    }
    return out;
  }

  /** Forgets every response: called when resources change, since responses of old versions are dead. */
  clear(): void {
    this.responses.clear();
    this.bytes = 0;
  }

  /** Responses encoded so far (cache misses), for tests and metrics. */
  get encodedBodies(): number {
    return this.built;
  }
}
