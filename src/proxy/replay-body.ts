/**
 * The small request body kept so that a failed try can be replayed on another endpoint (Envoy
 * buffers for retries too). Chunks are kept as they arrive, without copies, while the total stays
 * within REPLAY_BUFFER_LIMIT; past it the body is dropped and the call can no longer be retried.
 * HTTP/1.1 (both paths) and HTTP/2/gRPC keep their bodies here.
 */
import { REPLAY_BUFFER_LIMIT } from './retry-policy.js';

export class ReplayBody {
  private chunks: Buffer[] | undefined = [];
  private size = 0;
  /** The whole body has arrived. */
  complete = false;

  constructor(private readonly limit = REPLAY_BUFFER_LIMIT) {}

  /** Keeps a chunk; false once the body is too large to keep (or was dropped). */
  push(chunk: Buffer): boolean {
    const chunks = this.chunks;
    if (chunks === undefined) return false;
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.chunks = undefined;
      return false;
    }
    chunks.push(chunk);
    return true;
  }

  /** Still replayable: nothing was dropped. */
  get kept(): boolean {
    return this.chunks !== undefined;
  }

  get byteLength(): number {
    return this.size;
  }

  /** The chunks so far, in order (empty once dropped). */
  get parts(): readonly Buffer[] {
    return this.chunks ?? [];
  }

  /** The body as one buffer (one copy only when it arrived in several chunks). */
  whole(): Buffer {
    const chunks = this.chunks ?? [];
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size);
  }
}
