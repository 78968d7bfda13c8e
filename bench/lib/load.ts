/**
 * Load generators and their output. wrk (closed loop) reports through a Lua `done` hook that
 * prints its exact latency percentiles as JSON, p99.9 included; hey (fixed rate: c workers each
 * throttled to q req/s) writes one CSV row per request, from which every percentile is computed.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runToEnd } from './procs.js';

export interface LoadResult {
  requests: number;
  /** wrk: non-2xx/3xx responses plus socket errors and timeouts; hey: non-2xx/3xx responses (its CSV omits socket errors). */
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

const WRK_LUA = `
-- Absolute-form request line when WRK_ABSOLUTE is set (an HTTP_PROXY client).
local absolute = os.getenv("WRK_ABSOLUTE")
if absolute ~= nil and absolute ~= "" then
  wrk.path = absolute
end
-- Fixed rate: each connection waits WRK_DELAY_MS between a response and its next request.
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0")
if pause > 0 then
  delay = function() return pause end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"errors":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
`;

export interface WrkOptions {
  url: string;
  seconds: number;
  connections: number;
  threads?: number;
  /** Request line target in absolute form, e.g. http://echo.bench/ (forward-proxy mode). */
  absolute?: string;
  headers?: Record<string, string>;
  cpus?: string | undefined;
  dir: string;
  /** Paced mode: each connection pauses this long between a response and its next request. */
  delayMs?: number;
}

export async function wrk(o: WrkOptions): Promise<LoadResult> {
  const script = path.join(o.dir, 'report.lua');
  writeFileSync(script, WRK_LUA);
  const args = ['-t', String(o.threads ?? 1), '-c', String(o.connections), '-d', `${o.seconds}s`, '--timeout', '5s', '-s', script];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  const r = await runToEnd('wrk', 'wrk', args, { cpus: o.cpus, env: { WRK_ABSOLUTE: o.absolute ?? '', WRK_DELAY_MS: String(o.delayMs ?? 0) }, timeoutMs: (o.seconds + 30) * 1000 });
  const m = r.stdout.match(/BENCH_JSON (\{.*\})/);
  if (m === null) throw new Error(`wrk gave no result (exit ${r.code}): ${r.stdout.slice(-500)} ${r.stderr.slice(-500)}`);
  const j = JSON.parse(m[1]!) as Record<'requests' | 'duration_us' | 'errors' | 'p50' | 'p90' | 'p99' | 'p999' | 'max', number>;
  const seconds = j.duration_us / 1e6;
  return { requests: j.requests, errors: j.errors, seconds, rps: j.requests / seconds, p50Ms: j.p50 / 1000, p90Ms: j.p90 / 1000, p99Ms: j.p99 / 1000, p999Ms: j.p999 / 1000, maxMs: j.max / 1000 };
}

/**
 * wrk paced to a fixed rate: `rate / 40` connections (at least 4), each pausing
 * connections × 1000 / rate ms (40 ms) between a response and its next request, so the offered
 * load is the rate less the time spent waiting for responses (1 ms of latency costs 2.5%; the
 * achieved rate is reported). Like any
 * closed-loop generator it does not send while a connection waits (coordinated omission): a
 * stall shows in max and p99.9 but delays requests rather than queueing them.
 */
export function wrkFixedRate(o: Omit<WrkOptions, 'connections' | 'delayMs'> & { rate: number }): Promise<LoadResult> {
  const connections = Math.max(4, Math.round(o.rate / 40));
  return wrk({ ...o, connections, delayMs: Math.round((connections * 1000) / o.rate) });
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface HeyOptions {
  url: string;
  seconds: number;
  /** Target rate in req/s: hey runs rate/perWorker workers each throttled to perWorker req/s. */
  rate: number;
  perWorker?: number;
  /** Forward-proxy address (hey -x), for absolute-form requests. */
  proxy?: string;
  cpus?: string | undefined;
}

export async function hey(o: HeyOptions): Promise<LoadResult & { workers: number; perWorkerRate: number }> {
  const perWorker = o.perWorker ?? 100;
  const workers = Math.max(1, Math.round(o.rate / perWorker));
  const args = ['-z', `${o.seconds}s`, '-c', String(workers), '-q', String(perWorker), '-t', '5', '-o', 'csv'];
  if (o.proxy !== undefined) args.push('-x', o.proxy);
  args.push(o.url);
  // Go would otherwise run one thread per machine core on the load generator's pinned core(s).
  const procs = o.cpus === undefined ? undefined : String(o.cpus.split(',').reduce((n, part) => n + (part.includes('-') ? Number(part.split('-')[1]) - Number(part.split('-')[0]) + 1 : 1), 0));
  const r = await runToEnd('hey', 'hey', args, { cpus: o.cpus, ...(procs !== undefined ? { env: { GOMAXPROCS: procs } } : {}), timeoutMs: (o.seconds + 30) * 1000 });
  const lat: number[] = [];
  let errors = 0;
  let lastOffset = 0;
  for (const line of r.stdout.split('\n')) {
    // response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset
    const f = line.split(',');
    if (f.length < 8 || !/^\d/.test(f[0]!)) continue;
    const status = Number(f[6]);
    if (!(status >= 200 && status < 400)) errors++;
    lat.push(Number(f[0]) * 1000);
    lastOffset = Math.max(lastOffset, Number(f[7]) + Number(f[0]));
  }
  if (lat.length === 0) throw new Error(`hey gave no result (exit ${r.code}): ${r.stderr.slice(-500)}`);
  lat.sort((a, b) => a - b);
  const seconds = Math.max(lastOffset, o.seconds);
  return {
    requests: lat.length,
    errors,
    seconds,
    rps: lat.length / seconds,
    p50Ms: percentile(lat, 50),
    p90Ms: percentile(lat, 90),
    p99Ms: percentile(lat, 99),
    p999Ms: percentile(lat, 99.9),
    maxMs: lat[lat.length - 1]!,
    workers,
    perWorkerRate: perWorker,
  };
}
