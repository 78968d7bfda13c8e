/**
 * Keeps TLS material in step with its files. The files are read on the Clock and compared by
 * content (they are small, and a rotation may keep a file's size, inode and even its mtime to the
 * filesystem's resolution); a change reloads and checks all three files together, and listeners
 * get the new material. Files that fail the check (a half-written rotation, a key
 * that does not match its certificate yet) keep the last good material and log why once per
 * change; the next change of any file tries again.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { describeCertificate, loadTlsMaterial, type TlsKeys, type TlsMaterial, type TlsPaths } from './tls-material.js';

export type TlsReloadResult = 'ok' | 'error';

export interface TlsReloaderOptions {
  paths: TlsPaths;
  keys: TlsKeys;
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  /** Told of every reload attempt, for a metric. */
  onReload?: (result: TlsReloadResult, material: TlsMaterial) => void;
}

/** A file's content digest, or why it cannot be read. */
function stampOf(path: string): string {
  if (path === '') return '';
  try {
    return createHash('sha256').update(readFileSync(path)).digest('base64');
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? ''}`;
  }
}

export class TlsReloader {
  private material: TlsMaterial;
  private stamps: string;
  private timer: TimerHandle | undefined;
  private readonly listeners = new Set<(material: TlsMaterial) => void>();

  /** Reads the files now; throws `config_invalid` naming the key when one cannot be used. */
  constructor(private readonly options: TlsReloaderOptions) {
    // Stamped before reading: a file replaced while it is read is read again at the next poll.
    this.stamps = this.currentStamps();
    this.material = loadTlsMaterial(options.paths, options.keys);
  }

  /** The last good material. */
  get current(): TlsMaterial {
    return this.material;
  }

  /** Calls `listener` with the new material after every successful reload. */
  onChange(listener: (material: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = this.options.clock.setInterval(() => this.reloadIfChanged(), this.options.intervalMs).unref();
  }

  close(): void {
    this.options.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reloads when a file changed since the last look; says what happened. */
  reloadIfChanged(): 'unchanged' | TlsReloadResult {
    const stamps = this.currentStamps();
    if (stamps === this.stamps) return 'unchanged';
    this.stamps = stamps;
    const { paths, logger } = this.options;
    let next: TlsMaterial;
    try {
      next = loadTlsMaterial(paths, this.options.keys);
    } catch (err) {
      logger.error('tls: the changed certificate files cannot be used; keeping the last good ones', {
        error: (err as Error).message,
        serving: describeCertificate(this.material.leaf),
        not_after: this.material.leaf.validTo,
      });
      this.options.onReload?.('error', this.material);
      return 'error';
    }
    this.material = next;
    logger.info('tls: certificate files reloaded; new connections use them, open ones keep theirs', {
      cert_file: paths.certFile,
      serving: describeCertificate(next.leaf),
      not_after: next.leaf.validTo,
      ...(paths.caFile !== '' ? { client_ca_file: paths.caFile, client_cas: next.caCertificates.length } : {}),
    });
    this.options.onReload?.('ok', next);
    for (const listener of this.listeners) listener(next);
    return 'ok';
  }

  private currentStamps(): string {
    const { certFile, keyFile, caFile } = this.options.paths;
    return [stampOf(certFile), stampOf(keyFile), stampOf(caFile)].join('|');
  }
}
