/**
 * The hub's static tokens, kept in the tokens file and looked up by the SHA-256 of the secret a
 * caller presents. The file is watched (its size, mtime and inode polled on the Clock), so a token
 * added, changed or removed by hand takes effect at the next poll; a file that stops parsing keeps
 * the tokens last read and logs why. The token API changes the file through this class, one
 * write at a time, and never while the file does not parse.
 */
import type { Clock, TimerHandle } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { fileStamp as stamp } from './file-stamp.js';
import { readTokenFile, writeTokenFile, type TokenRecord } from './token-file.js';
import { hashToken } from './token-secret.js';

export interface StaticTokensOptions {
  path: string;
  clock: Clock;
  logger: Logger;
  /** How often the file is checked for changes. */
  reloadIntervalMs: number;
}

export class StaticTokens {
  private byHash = new Map<string, TokenRecord>();
  private changes = 0;
  private records: readonly TokenRecord[] = [];
  private seen: string | undefined;
  /** Why the file as it is now does not parse, while it does not. */
  private broken: string | undefined;
  private timer: TimerHandle | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: StaticTokensOptions) {}

  get path(): string {
    return this.options.path;
  }

  /** Reads the file now; throws a config error when it cannot be read or parsed. */
  load(): void {
    const seen = stamp(this.options.path);
    this.replace(readTokenFile(this.options.path));
    this.seen = seen;
  }

  /** Starts polling the file for changes. */
  watch(): void {
    if (this.timer !== undefined) return;
    this.timer = this.options.clock.setInterval(() => this.reloadIfChanged(), this.options.reloadIntervalMs).unref();
  }

  close(): void {
    this.options.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Called after every reload that changed the tokens (so open streams can be re-checked). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reloads when the file changed since the last read; returns whether it did. */
  reloadIfChanged(): boolean {
    const now = stamp(this.options.path);
    if (now === this.seen) return false;
    this.seen = now;
    this.broken = undefined;
    if (now === undefined) {
      this.options.logger.error('auth: the tokens file is gone; keeping the tokens last read', { path: this.options.path });
      return false;
    }
    try {
      this.replace(readTokenFile(this.options.path));
    } catch (err) {
      this.broken = err instanceof Error ? err.message : String(err);
      this.options.logger.error('auth: the tokens file does not parse; keeping the tokens last read', { path: this.options.path, error: this.broken });
      return false;
    }
    this.options.logger.info('auth: tokens file reloaded', { path: this.options.path, tokens: this.records.length });
    for (const l of this.listeners) l();
    return true;
  }

  /** The record whose secret this is, if any (expired ones included: the caller says why it is refused). */
  lookup(secret: string): TokenRecord | undefined {
    return this.byHash.get(hashToken(secret));
  }

  /** The token with this id, if it is still in the file: open streams made with it stay open only while it is. */
  get(id: string): TokenRecord | undefined {
    return this.records.find((r) => r.id === id);
  }

  list(): readonly TokenRecord[] {
    return this.records;
  }

  get size(): number {
    return this.records.length;
  }

  /** Adds a token and writes the file. */
  add(record: TokenRecord): Promise<TokenRecord> {
    return this.change((records) => {
      if (records.some((r) => r.id === record.id)) throw new OutriggerError('already_exists', `a token with id ${record.id} already exists`, 'id');
      return [...records, record];
    }).then(() => record);
  }

  /** Removes a token and writes the file; the removed record, or not_found. */
  revoke(id: string): Promise<TokenRecord> {
    let removed: TokenRecord | undefined;
    return this.change((records) => {
      removed = records.find((r) => r.id === id);
      if (removed === undefined) throw new OutriggerError('not_found', `no token with id ${id}`, 'id');
      return records.filter((r) => r.id !== id);
    }).then(() => removed!);
  }

  private change(edit: (records: readonly TokenRecord[]) => TokenRecord[]): Promise<void> {
    const run = async (): Promise<void> => {
      // Pick up a hand edit made since the last poll, so the API never overwrites it; a hand
      // edit that does not parse is not overwritten either: the operator's text would be lost.
      this.reloadIfChanged();
      if (this.broken !== undefined) {
        throw new OutriggerError('failed_precondition', `the tokens file does not parse, so the hub will not rewrite it: ${this.broken}; fix the file, then try again`);
      }
      const next = edit(this.records);
      await writeTokenFile(this.options.path, next);
      this.seen = stamp(this.options.path);
      this.replace(next);
      for (const l of this.listeners) l();
    };
    const result = this.writes.then(run, run);
    this.writes = result.catch(() => undefined);
    return result;
  }

  /** Grows with every change of the tokens, so what was looked up before can tell it is out of date. */
  get generation(): number {
    return this.changes;
  }

  private replace(records: readonly TokenRecord[]): void {
    this.changes++;
    this.records = records;
    this.byHash = new Map(records.map((r) => [r.sha256, r]));
  }
}
