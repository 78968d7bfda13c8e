import { Pool } from 'undici';

/** One request that did not end in a 2xx response, with why. */
export interface LoadFailure {
  at: number;
  cause: string;
}

export interface LoadResult {
  sent: number;
  ok: number;
  failures: LoadFailure[];
  /** Successful responses per backend instance (from the echo app's body). */
  byInstance: Record<string, number>;
}

export interface SteadyLoad {
  /** Live counters (read while the load runs). */
  readonly progress: LoadResult;
  /** Asks the workers to stop after their current request; resolves with the final counts. */
  stop(): Promise<LoadResult>;
  /** Resolves when the workers have stopped (asked to, or a bound was reached). */
  readonly done: Promise<LoadResult>;
}

export interface SteadyLoadOptions {
  /** The outbound proxy, e.g. http://127.0.0.1:15001. */
  proxy: string;
  /** Host header the proxy routes on. */
  host: string;
  workers: number;
  /** Target total rate (requests per second across all workers). */
  ratePerSecond: number;
  /** Bounds: the load stops by itself after this many requests or this long. */
  maxRequests: number;
  maxDurationMs: number;
}

/**
 * A bounded, paced GET loop through a proxy with keep-alive connections (one undici Pool,
 * one connection per worker), recording every non-2xx response and transport error with its
 * cause. The pacing is a rate, not a wait for an event.
 */
export function startSteadyLoad(o: SteadyLoadOptions): SteadyLoad {
  const pool = new Pool(o.proxy, { connections: o.workers, pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000, keepAliveTimeout: 30_000 });
  const result: LoadResult = { sent: 0, ok: 0, failures: [], byInstance: {} };
  const startedAt = Date.now();
  const intervalMs = (1000 * o.workers) / o.ratePerSecond;
  let stopping = false;
  const bounded = (): boolean => stopping || result.sent >= o.maxRequests || Date.now() - startedAt >= o.maxDurationMs;

  const one = async (): Promise<void> => {
    result.sent++;
    const at = Date.now() - startedAt;
    try {
      const res = await pool.request({ path: `/load/${result.sent}`, method: 'GET', headers: { host: o.host } });
      const body = await res.body.text();
      if (res.statusCode < 200 || res.statusCode >= 300) {
        result.failures.push({ at, cause: `HTTP ${res.statusCode}: ${body.slice(0, 300)}` });
        return;
      }
      let instance = '?';
      try {
        instance = String((JSON.parse(body) as { instance?: unknown }).instance);
      } catch {
        result.failures.push({ at, cause: `HTTP ${res.statusCode} with a body that is not the echo app's JSON: ${body.slice(0, 300)}` });
        return;
      }
      result.ok++;
      result.byInstance[instance] = (result.byInstance[instance] ?? 0) + 1;
    } catch (err) {
      const e = err as Error & { code?: string; cause?: unknown };
      result.failures.push({ at, cause: `transport error ${e.code ?? e.name}: ${e.message}${e.cause !== undefined ? ` (cause: ${String(e.cause)})` : ''}` });
    }
  };

  const worker = async (): Promise<void> => {
    while (!bounded()) {
      const t0 = Date.now();
      await one();
      const rest = intervalMs - (Date.now() - t0);
      if (rest > 0 && !bounded()) await new Promise((r) => setTimeout(r, rest));
    }
  };

  const done = Promise.all(Array.from({ length: o.workers }, () => worker())).then(async () => {
    await pool.close();
    return result;
  });
  return {
    progress: result,
    done,
    stop: () => {
      stopping = true;
      return done;
    },
  };
}
