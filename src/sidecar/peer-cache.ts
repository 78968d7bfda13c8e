/**
 * The last good peer config on local disk, so that a restarted sidecar can route before the hub
 * answers (or while it cannot). Writes are debounced through the Clock (a burst of changes is
 * one write, and the window is not extended by later changes, so a steady trickle cannot
 * postpone it forever) and atomic (a temp file renamed over the old one: a crash mid-write
 * leaves the previous file, never half of one). Reading never fails the sidecar: a missing,
 * corrupt or foreign file is reported and ignored.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../common/clock.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { decodePeerCache, encodePeerCache, type PeerCacheCluster } from './peer-cache-format.js';

export type { PeerCacheCluster } from './peer-cache-format.js';

export interface PeerCacheOptions {
  file: string;
  clock?: Clock;
  logger?: Logger;
  /** Changes within this window are written once. Default 1 s. */
  debounceMs?: number;
}

export interface LoadedPeerCache {
  /** Clock time the file was written. */
  writtenAt: number;
  clusters: PeerCacheCluster[];
}

export interface PeerCacheStats {
  file: string;
  writes: number;
  failures: number;
  last_written_at: number | undefined;
  last_error: string | undefined;
  pending: boolean;
}

export const DEFAULT_CACHE_DEBOUNCE_MS = 1000;

export class PeerCache {
  readonly file: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly debounceMs: number;
  private timer: TimerHandle | undefined;
  private snapshot: (() => PeerCacheCluster[]) | undefined;
  /** The write in flight (writes are serialised); resolves, never rejects. */
  private writing: Promise<void> = Promise.resolve();
  private writes = 0;
  private failures = 0;
  private lastWrittenAt: number | undefined;
  private lastError: string | undefined;

  constructor(options: PeerCacheOptions) {
    this.file = options.file;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child({ component: 'peer-cache' });
    this.debounceMs = Math.max(0, options.debounceMs ?? DEFAULT_CACHE_DEBOUNCE_MS);
  }

  /** The cached clusters, or undefined (with a warning when a file was there but unusable). */
  async load(): Promise<LoadedPeerCache | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') this.logger.info('no peer cache yet; waiting for the hub', { file: this.file });
      else this.logger.warn('cannot read the peer cache; ignoring it', { file: this.file, error: String(err) });
      return undefined;
    }
    try {
      const file = decodePeerCache(text);
      this.logger.info('loaded the peer cache', { file: this.file, clusters: file.clusters.length, written_at: new Date(file.written_at).toISOString() });
      return { writtenAt: file.written_at, clusters: file.clusters };
    } catch (err) {
      this.logger.warn('ignoring an unusable peer cache file; it will be replaced', {
        file: this.file,
        error: err instanceof Error ? err.message : String(err),
      });
      return undefined;
    }
  }

  /** Asks for a write of `snapshot()` at the end of the debounce window. */
  schedule(snapshot: () => PeerCacheCluster[]): void {
    this.snapshot = snapshot;
    if (this.timer !== undefined) return;
    this.timer = this.clock
      .setTimeout(() => {
        this.timer = undefined;
        void this.enqueueWrite();
      }, this.debounceMs)
      .unref();
  }

  /** Writes a scheduled snapshot now, and waits for every write so far. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
      void this.enqueueWrite();
    }
    await this.writing;
  }

  stats(): PeerCacheStats {
    return {
      file: this.file,
      writes: this.writes,
      failures: this.failures,
      last_written_at: this.lastWrittenAt,
      last_error: this.lastError,
      pending: this.timer !== undefined,
    };
  }

  private enqueueWrite(): Promise<void> {
    const snapshot = this.snapshot;
    if (snapshot === undefined) return this.writing;
    this.writing = this.writing.then(async () => {
      let clusters: PeerCacheCluster[];
      try {
        clusters = snapshot();
      } catch (err) {
        this.failures++;
        this.lastError = err instanceof Error ? err.message : String(err);
        this.logger.error('cannot take a snapshot for the peer cache', { error: this.lastError });
        return;
      }
      await this.write(clusters);
    });
    return this.writing;
  }

  private async write(clusters: PeerCacheCluster[]): Promise<void> {
    const writtenAt = this.clock.now();
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      const handle = await fs.open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(encodePeerCache(writtenAt, clusters));
        // On disk before the rename makes it the cache: a power cut cannot leave an empty file.
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, this.file);
      this.writes++;
      this.lastWrittenAt = writtenAt;
      this.lastError = undefined;
      this.logger.debug('wrote the peer cache', { file: this.file, clusters: clusters.length });
    } catch (err) {
      this.failures++;
      this.lastError = err instanceof Error ? err.message : String(err);
      this.logger.warn('cannot write the peer cache; routing is unaffected', { file: this.file, error: this.lastError });
      await fs.rm(tmp, { force: true }).catch(() => {});
    }
  }
}
