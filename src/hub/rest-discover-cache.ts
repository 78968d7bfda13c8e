import { createHash } from 'node:crypto';
import type { Registry } from '../registry/registry.js';

/** One encoded answer: the JSON bytes and the entity tag naming them. */
export interface EncodedAnswer {
  readonly body: Buffer;
  readonly etag: string;
}

/**
 * Encoded discover answers per (normalised query, caller's visibility), valid for one registry
 * read revision: a repeated read is a map lookup and a write of ready bytes. Invalidated by the
 * registry, never by time: the first read after any change (lease renewals included, since the
 * answer shows them) starts an empty cache. The visibility is part of the key, so one caller's
 * answer is never served to a caller who may see different services.
 */
export class DiscoverAnswerCache {
  private readonly answers = new Map<string, EncodedAnswer>();
  private revision = '';

  constructor(
    private readonly registry: Registry,
    private readonly maxEntries = 4096,
  ) {}

  /** The answer for `key` at the registry's current revision; `build` makes its JSON on a miss. */
  get(key: string, build: () => unknown): EncodedAnswer {
    const revision = this.registry.readRevision;
    if (revision !== this.revision) {
      this.answers.clear();
      this.revision = revision;
    }
    const hit = this.answers.get(key);
    if (hit !== undefined) return hit;
    const body = Buffer.from(`${JSON.stringify(build())}\n`);
    // The revision says when, the digest what: different visibilities at one revision get different tags.
    const answer: EncodedAnswer = { body, etag: `"${revision}-${createHash('sha1').update(body).digest('base64url').slice(0, 12)}"` };
    // Bounded: a flood of distinct queries restarts the cache rather than growing it.
    if (this.answers.size >= this.maxEntries) this.answers.clear();
    this.answers.set(key, answer);
    return answer;
  }

  get size(): number {
    return this.answers.size;
  }
}

/** Whether an If-None-Match header names this entity tag (a list, weak tags, or `*`; RFC 9110 13.1.2). */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  for (const part of header.split(',')) {
    const tag = part.trim();
    if (tag === '*' || tag === etag || (tag.startsWith('W/') && tag.slice(2) === etag)) return true;
  }
  return false;
}
