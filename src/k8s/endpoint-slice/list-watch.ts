import type { Clock } from '../../common/clock.js';
import { Backoff } from '../../common/backoff.js';
import { silentLogger, type Logger } from '../../common/logger.js';

/** What a list call yields: the objects and the collection's resourceVersion to watch from. */
export interface ListResult {
  items: readonly unknown[];
  resourceVersion: string;
}

/** The part of client-node's `Watch` this loop uses (an interface, so the loop states its contract). */
export interface WatchApi {
  watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController>;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ListWatchHandlers {
  /** A full list: the objects now in scope; anything known before and absent here is gone. */
  replace(items: readonly unknown[]): void;
  apply(type: WatchEventType, object: unknown): void;
}

export interface ListWatchCounters {
  /** A watch event (ADDED, MODIFIED, DELETED) was applied. */
  event(): void;
  /** A list after the first one (after 410 Gone or a failed list). */
  relist(): void;
  /** A list or watch failed, or the server sent an ERROR event. */
  error(): void;
}

export interface ListWatchOptions {
  /** Name for logs: `endpointslices`, `services`. */
  resource: string;
  /** Collection path to watch, e.g. `/apis/discovery.k8s.io/v1/endpointslices`. */
  path: string;
  list(): Promise<ListResult>;
  watch: WatchApi;
  handlers: ListWatchHandlers;
  clock: Clock;
  maxBackoffMs: number;
  logger?: Logger;
  counters?: ListWatchCounters;
  random?: () => number;
}

/** The first retry waits up to this long; later ones double up to maxBackoffMs. */
const INITIAL_BACKOFF_MS = 500;
/**
 * Watches ask the server to end them after 5 to 10 minutes (client-go's range), so a connection
 * that died silently is noticed and each reconnect resumes from the last resourceVersion.
 */
const WATCH_TIMEOUT_MIN_S = 300;

const NOOP_COUNTERS: ListWatchCounters = { event() {}, relist() {}, error() {} };

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function resourceVersionOf(object: unknown): string | undefined {
  const rv = record(record(object)?.['metadata'])?.['resourceVersion'];
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
}

function statusCodeOf(err: unknown): number | undefined {
  const e = record(err);
  const code = e?.['statusCode'] ?? e?.['code'];
  return typeof code === 'number' ? code : undefined;
}

/**
 * The list-then-watch loop of a Kubernetes reflector, on top of client-node's `Watch`:
 *
 * - lists, hands the whole set to `replace`, then watches from the list's resourceVersion with
 *   bookmarks on; every event and bookmark advances the resourceVersion;
 * - a watch that ends resumes from the last resourceVersion (immediately when it delivered
 *   something, after a backoff when it ended empty, so a server that closes at once is not
 *   hammered);
 * - 410 Gone (as an HTTP status or an ERROR event) means the resourceVersion was compacted:
 *   relist at once;
 * - any other failure retries after exponential backoff with full jitter, through the clock;
 * - stop() aborts the open watch and cancels the pending retry; nothing runs after it.
 *
 * client-node's ListWatch is not used: it neither asks for bookmarks nor retries after an
 * error, and it can start a watch after stop() while a list is in flight.
 */
export class ListWatchLoop {
  private readonly backoff: Backoff;
  private readonly logger: Logger;
  private readonly counters: ListWatchCounters;
  private readonly random: () => number;
  private rv = '';
  private lists = 0;
  private stopped = true;
  /** Identifies the current watch; callbacks of an older one are ignored. */
  private generation = 0;
  private controller: AbortController | undefined;
  private mustRelist = false;
  private delivered = false;
  private syncedOnce = false;
  private readonly syncWaiters: Array<() => void> = [];

  constructor(private readonly options: ListWatchOptions) {
    this.random = options.random ?? Math.random;
    this.backoff = new Backoff(options.clock, {
      initialMs: Math.min(INITIAL_BACKOFF_MS, options.maxBackoffMs),
      maxMs: options.maxBackoffMs,
      multiplier: 2,
      random: this.random,
    });
    this.logger = options.logger ?? silentLogger;
    this.counters = options.counters ?? NOOP_COUNTERS;
  }

  /** The resourceVersion the next watch resumes from ('' before the first list). */
  get resourceVersion(): string {
    return this.rv;
  }

  /** True once a list has completed. */
  get synced(): boolean {
    return this.syncedOnce;
  }

  /** Resolves when the first list has been applied. */
  whenSynced(): Promise<void> {
    if (this.syncedOnce) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.listThenWatch();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.generation++;
    this.backoff.cancel();
    this.controller?.abort();
    this.controller = undefined;
  }

  private async listThenWatch(): Promise<void> {
    const generation = ++this.generation;
    if (this.lists > 0) this.counters.relist();
    this.lists++;
    let result: ListResult;
    try {
      result = await this.options.list();
    } catch (err) {
      if (generation !== this.generation || this.stopped) return;
      this.fail('list failed', err, () => void this.listThenWatch());
      return;
    }
    if (generation !== this.generation || this.stopped) return;
    this.options.handlers.replace(result.items);
    this.rv = result.resourceVersion;
    this.backoff.reset();
    if (!this.syncedOnce) {
      this.syncedOnce = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
    this.logger.debug('listed', { resource: this.options.resource, items: result.items.length, resource_version: this.rv });
    void this.watch();
  }

  private async watch(): Promise<void> {
    const generation = ++this.generation;
    this.mustRelist = false;
    this.delivered = false;
    const timeoutSeconds = WATCH_TIMEOUT_MIN_S + Math.floor(this.random() * WATCH_TIMEOUT_MIN_S);
    let controller: AbortController;
    try {
      controller = await this.options.watch.watch(
        this.options.path,
        { resourceVersion: this.rv, allowWatchBookmarks: true, timeoutSeconds },
        (phase, object) => this.onEvent(generation, phase, object),
        (err) => this.onDone(generation, err),
      );
    } catch (err) {
      // Watch reports failures through `done`; a throw here is a config problem (no cluster).
      this.onDone(generation, err);
      return;
    }
    if (generation !== this.generation || this.stopped) controller.abort();
    else this.controller = controller;
  }

  private onEvent(generation: number, phase: string, object: unknown): void {
    if (generation !== this.generation || this.stopped) return;
    if (phase === 'ERROR') {
      const code = record(object)?.['code'];
      if (code === 410) this.mustRelist = true;
      else {
        this.counters.error();
        this.logger.warn('watch error event', { resource: this.options.resource, status: object });
      }
      // The server ends the watch after an ERROR; aborting here does not wait for it.
      this.controller?.abort();
      this.onDone(generation, code === 410 ? undefined : new Error(`watch ERROR event (code ${String(code)})`));
      return;
    }
    const rv = resourceVersionOf(object);
    if (phase === 'BOOKMARK') {
      // Proof of a live stream, like an event: a watch that ends after one resumes at once.
      this.delivered = true;
      this.backoff.reset();
      if (rv !== undefined) this.rv = rv;
      return;
    }
    if (phase !== 'ADDED' && phase !== 'MODIFIED' && phase !== 'DELETED') return;
    try {
      this.options.handlers.apply(phase, object);
    } catch (err) {
      // client-node swallows what a callback throws; say it instead.
      this.logger.error('applying a watch event failed', { resource: this.options.resource, err: String(err) });
    }
    this.counters.event();
    this.delivered = true;
    this.backoff.reset();
    if (rv !== undefined) this.rv = rv;
  }

  private onDone(generation: number, err: unknown): void {
    if (generation !== this.generation || this.stopped) return;
    this.generation++;
    this.controller = undefined;
    if (this.mustRelist || statusCodeOf(err) === 410) {
      this.logger.info('resourceVersion expired (410 Gone): relisting', { resource: this.options.resource, resource_version: this.rv });
      this.rv = '';
      void this.listThenWatch();
      return;
    }
    if (err !== null && err !== undefined) {
      this.fail('watch failed', err, () => void this.watch());
      return;
    }
    if (this.delivered) {
      void this.watch();
      return;
    }
    this.backoff.schedule(() => void this.watch());
  }

  private fail(what: string, err: unknown, retry: () => void): void {
    this.counters.error();
    const delay = this.backoff.schedule(() => {
      if (!this.stopped) retry();
    });
    this.logger.warn(what, { resource: this.options.resource, err: err instanceof Error ? err.message : String(err), status: statusCodeOf(err), retry_in_ms: delay });
  }
}
