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

export interface EncoderLimits {
  /** Bodies kept at most (distinct type, version and resource list combinations). */
  maxEntries: number;
  /** Bytes of bodies and their keys (a key lists resource names) kept at most. */
  maxBytes: number;
}

/**
 * Writes envoy.service.discovery.v3.DiscoveryResponse bytes straight from the cached Any
 * encodings, without decoding or re-encoding a resource. Protobuf fields may come in any
 * order, so everything but the nonce forms a body that streams asking for the same thing at
 * the same version share; a stream's response is that body plus its own nonce field.
 */
export class ResponseEncoder {
  private readonly bodies = new Map<string, Buffer>();
  private bytes = 0;
  private built = 0;

  constructor(private readonly limits: EncoderLimits = { maxEntries: 512, maxBytes: 64 * 1024 * 1024 }) {}

  /**
   * The shared body for `key` (which must identify the resource list) at `version`; `resources`
   * is called only when it is not cached.
   */
  body(typeUrl: string, version: string, key: string, resources: () => Iterable<CachedResource>): Buffer {
    const id = `${typeUrl}\u0000${version}\u0000${key}`;
    const cached = this.bodies.get(id);
    if (cached !== undefined) return cached;
    const w = protobuf.Writer.create();
    for (const r of resources()) w.uint32(RESOURCES).bytes(r.any);
    w.uint32(VERSION_INFO).string(version);
    w.uint32(TYPE_URL).string(typeUrl);
    w.uint32(CONTROL_PLANE).fork().uint32(CONTROL_PLANE_IDENTIFIER).string(CONTROL_PLANE_ID).ldelim();
    const u8 = w.finish();
    const body = Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
    this.built++;
    // Bounded: past the limits a body is still returned, just not kept.
    const size = body.length + id.length;
    if (this.bodies.size < this.limits.maxEntries && this.bytes + size <= this.limits.maxBytes) {
      this.bodies.set(id, body);
      this.bytes += size;
    }
    return body;
  }

  /** Forgets every body: called when resources change, since bodies of old versions are dead. */
  clear(): void {
    this.bodies.clear();
    this.bytes = 0;
  }

  /** Bodies encoded so far (cache misses), for tests and metrics. */
  get encodedBodies(): number {
    return this.built;
  }

  /** A stream's response: the shared body followed by its nonce. */
  static withNonce(body: Buffer, nonce: string): Buffer {
    const w = protobuf.Writer.create();
    w.uint32(NONCE).string(nonce);
    const tail = w.finish();
    return Buffer.concat([body, tail]);
  }
}
