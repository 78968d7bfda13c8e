/**
 * Resilience: steady fixed-rate load through the sidecar's per-upstream port to three backends,
 * each beside its own `outrigger sidecar`; one backend is SIGKILLed mid-run. Two cases: the app
 * alone dies (its sidecar sees it through its health check), then a whole pod dies (app and
 * sidecar together: the hub sees the session end, and the lease's ttl runs). Counts failed
 * requests and measures how long until the client's sidecar stops sending to the dead backend.
 */
import http from 'node:http';
import type { Benchmark, BenchContext, BenchOutcome } from './lib/context.js';
import { NAMESPACE, hubOf, getJson, httpGet, startHub, startNodeBackend, startSidecar, sidecarRoutes, type BackendProc, type SidecarProc } from './lib/mesh.js';
import { freePort, sleep, until } from './lib/procs.js';
import { fmt, markdownTable } from './lib/results.js';

const SERVICE = 'echo';

interface Sample {
  /** ms since the load started. */
  at: number;
  status: number;
  backend: string;
  ms: number;
}

/** Open-loop load: `rate` requests per second on a fixed schedule, whatever the responses do. */
async function fixedRate(port: number, rate: number, seconds: number, t0: number, onTick: (elapsedMs: number) => void): Promise<Sample[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const samples: Sample[] = [];
  const pending = new Set<Promise<void>>();
  let sent = 0;
  const total = rate * seconds;
  while (sent < total) {
    const elapsed = performance.now() - t0;
    onTick(elapsed);
    const due = Math.min(total, Math.floor((elapsed * rate) / 1000));
    for (; sent < due; sent++) {
      const at = performance.now() - t0;
      const p = new Promise<void>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/', agent, timeout: 5000 }, (res) => {
          res.resume();
          res.on('end', () => {
            samples.push({ at, status: res.statusCode ?? 0, backend: String(res.headers['x-backend'] ?? ''), ms: performance.now() - t0 - at });
            resolve();
          });
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', () => {
          samples.push({ at, status: 0, backend: '', ms: performance.now() - t0 - at });
          resolve();
        });
      });
      pending.add(p);
      void p.then(() => pending.delete(p));
    }
    await sleep(1);
  }
  await Promise.all(pending);
  agent.destroy();
  return samples.sort((a, b) => a.at - b.at);
}

/** The `health` of every object in the JSON with this port (the sidecar's /clusters view). */
function healthOfPort(json: unknown, port: number): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o['port'] === port) out.push(String(o['health'] ?? o['health_status'] ?? 'listed'));
      Object.values(o).forEach(walk);
    }
  };
  walk(json);
  return out;
}

/** Sum of every sample of a counter in the sidecar's Prometheus text. */
async function counter(admin: string, name: string): Promise<number> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  return sum;
}

interface CaseResult {
  case: string;
  killedBackend: string;
  rate: number;
  seconds: number;
  killAtMs: number;
  requests: number;
  failed: number;
  /** Failures are the requests that reached the dead backend and were not retried elsewhere. */
  lastFailureAfterKillMs: number | undefined;
  lastAnswerFromKilledAfterKillMs: number | undefined;
  /** Time until the client sidecar's /clusters no longer shows the endpoint as routable (absent or not HEALTHY/UNKNOWN). */
  sidecarDropsItAfterMs: number | undefined;
  /** outrigger_proxy_retries_total and outrigger_proxy_errors_total of the client sidecar over the case. */
  sidecarRetries: number;
  sidecarErrors: number;
  p99Ms: number;
  maxMs: number;
  byBackend: Record<string, number>;
  /** Failed requests by HTTP status (0: socket error or timeout). */
  failuresByStatus: Record<string, number>;
}

async function run(ctx: BenchContext): Promise<BenchOutcome> {
  const rate = ctx.quick ? 200 : 500;
  const seconds = ctx.quick ? 8 : 30;
  const killAt = (seconds * 1000) / 3;
  const hub = await startHub('hub', {}, ctx.cpus.load);
  const healthCheck = { type: 'http', path: '/', interval: '1s', timeout: '500ms', rise: 1, fall: 2 };
  const backends: Array<BackendProc & { sidecar: SidecarProc }> = [];
  for (let i = 1; i <= 3; i++) {
    const b = await startNodeBackend(`r${i}`, ctx.cpus.load);
    const sidecar = await startSidecar(`sidecar r${i}`, { service: SERVICE, instance_id: `r${i}`, app: { port: b.port }, ...hubOf(hub), ttl: '5s', health_check: healthCheck, drain_period: 0 }, ctx.cpus.load);
    backends.push({ ...b, sidecar });
  }
  const app = await startNodeBackend('client-app', ctx.cpus.load);
  const local = await freePort();
  const client = await startSidecar(
    'client sidecar',
    { service: 'client', app: { port: app.port }, ...hubOf(hub), upstreams: [{ service: `${SERVICE}.${NAMESPACE}`, local_port: local, protocol: 'http' }] },
    ctx.cpus.proxy,
  );
  const seen = new Set<string>();
  await sidecarRoutes(client, async () => {
    seen.add(String((await httpGet(local)).headers['x-backend'] ?? ''));
    return backends.every((b) => seen.has(b.id));
  });

  // The pod case runs past the lease ttl (5 s), the longest the hub can take to notice.
  const cases: Array<{ name: string; victim: number; seconds: number; kill: (b: (typeof backends)[number]) => Promise<void> }> = [
    { name: 'app killed (its sidecar lives and health-checks it)', victim: 0, seconds, kill: (b) => b.proc.kill('SIGKILL') },
    {
      name: 'pod killed (app and its sidecar together)',
      victim: 1,
      seconds: Math.max(seconds, Math.ceil(killAt / 1000 + 12)),
      kill: async (b) => {
        await Promise.all([b.proc.kill('SIGKILL'), b.sidecar.proc.kill('SIGKILL')]);
      },
    },
  ];
  const results: CaseResult[] = [];
  for (const c of cases) {
    const victim = backends[c.victim]!;
    ctx.log(`resilience: ${c.name}: ${rate} req/s for ${c.seconds} s, SIGKILL ${victim.id} at ${fmt(killAt / 1000)} s`);
    let killed = false;
    let killedAt = NaN;
    let droppedAt: number | undefined;
    let polling = false;
    const retries0 = await counter(client.admin, 'outrigger_proxy_retries_total');
    const errors0 = await counter(client.admin, 'outrigger_proxy_errors_total');
    const t0 = performance.now();
    const samples = await fixedRate(local, rate, c.seconds, t0, (elapsed) => {
      if (!killed && elapsed >= killAt) {
        killed = true;
        killedAt = elapsed;
        void c.kill(victim);
        polling = true;
        void (async () => {
          while (polling && droppedAt === undefined) {
            try {
              const states = healthOfPort(await getJson(`${client.admin}/clusters`), victim.port);
              if (states.every((s) => s !== 'HEALTHY' && s !== 'UNKNOWN' && s !== 'listed')) droppedAt = performance.now() - t0;
            } catch {
              // the admin API answers; retry
            }
            await sleep(20);
          }
        })();
      }
    });
    polling = false;
    const after = samples.filter((s) => s.at >= killedAt);
    const failures = samples.filter((s) => s.status !== 200);
    const lastFail = failures.filter((s) => s.at >= killedAt - 50).map((s) => s.at + s.ms).pop();
    const lastFromVictim = after.filter((s) => s.backend === victim.id).map((s) => s.at + s.ms).pop();
    const lat = samples.map((s) => s.ms).sort((a, b) => a - b);
    const byBackend: Record<string, number> = {};
    for (const s of after) byBackend[s.backend || 'error'] = (byBackend[s.backend || 'error'] ?? 0) + 1;
    const failuresByStatus: Record<string, number> = {};
    for (const f of failures) failuresByStatus[String(f.status)] = (failuresByStatus[String(f.status)] ?? 0) + 1;
    const r: CaseResult = {
      case: c.name,
      killedBackend: victim.id,
      rate,
      seconds: c.seconds,
      killAtMs: killedAt,
      requests: samples.length,
      failed: failures.length,
      lastFailureAfterKillMs: lastFail === undefined ? undefined : lastFail - killedAt,
      lastAnswerFromKilledAfterKillMs: lastFromVictim === undefined ? undefined : lastFromVictim - killedAt,
      sidecarDropsItAfterMs: droppedAt === undefined ? undefined : droppedAt - killedAt,
      sidecarRetries: (await counter(client.admin, 'outrigger_proxy_retries_total')) - retries0,
      sidecarErrors: (await counter(client.admin, 'outrigger_proxy_errors_total')) - errors0,
      p99Ms: lat[Math.floor(lat.length * 0.99)] ?? NaN,
      maxMs: lat[lat.length - 1] ?? NaN,
      byBackend,
      failuresByStatus,
    };
    results.push(r);
    ctx.log(`  ${r.failed} failed of ${r.requests}; ${r.failed === 0 ? 'no failure' : `last failure ${fmt(r.lastFailureAfterKillMs)} ms after the kill`}; sidecar stops routing to it after ${fmt(r.sidecarDropsItAfterMs)} ms; after the kill: ${JSON.stringify(byBackend)}`);
    if (c.victim === 0) {
      // Back to three healthy backends before the next case: with two of three down the balancer
      // would be in panic (under half healthy) and route to the dead ones on purpose.
      const revived = await startNodeBackend(victim.id, ctx.cpus.load, victim.port);
      backends[0] = { ...revived, sidecar: victim.sidecar };
      await until(`${victim.id} routed to again`, async () => (await httpGet(local)).headers['x-backend'] === victim.id, 60_000, 20);
    }
    await sleep(1000);
  }
  await client.proc.kill();
  for (const b of backends) {
    await b.proc.kill();
    await b.sidecar.proc.kill();
  }
  await app.proc.kill();
  await hub.proc.kill();

  const table = [
    `Fixed rate ${rate} req/s (open loop, Node http client in the runner) through the client sidecar's per-upstream port to 3 backends, ${results.map((r) => r.seconds).join(' and ')} s, SIGKILL at ${fmt(killAt / 1000)} s`,
    '',
    ...markdownTable(
      ['case', 'requests', 'failed (by status)', 'last failure after kill ms', 'sidecar stops routing to it after ms', 'retries by the sidecar', 'sidecar upstream errors', 'p99 ms', 'max ms', 'answers after the kill by backend'],
      results.map((r) => [r.case, r.requests, r.failed === 0 ? '0' : `${r.failed} (${Object.entries(r.failuresByStatus).map(([k, v]) => `${k === '0' ? 'socket error' : k}: ${v}`).join(', ')})`, r.failed === 0 ? 'none' : fmt(r.lastFailureAfterKillMs), fmt(r.sidecarDropsItAfterMs), r.sidecarRetries, r.sidecarErrors, r.p99Ms, r.maxMs, Object.entries(r.byBackend).map(([k, v]) => `${k}: ${v}`).join(', ')]),
    ),
  ];
  return {
    method: {
      backends: 'three Node http servers (x-backend header), each with its own outrigger sidecar (http health check every 1 s, fall 2, lease ttl 5 s)',
      client: `an outrigger sidecar with upstreams: [{service: ${SERVICE}.${NAMESPACE}, local_port}], default lb policy and retry settings`,
      load: `${rate} req/s on a fixed schedule (requests are sent when due, whatever the responses do), keep-alive, 5 s timeout; a failure is a non-200 answer or a socket error`,
      sidecarCounters: 'outrigger_proxy_retries_total and outrigger_proxy_errors_total (all labels summed) from the client sidecar\'s /metrics, after minus before each case',
      routingStopped: 'first time the client sidecar\'s GET /clusters shows the killed endpoint absent or neither HEALTHY nor UNKNOWN (polled every 20 ms): ms after the kill',
      pinning: ctx.cpus.note,
      quick: ctx.quick,
    },
    results,
    skipped: [],
    table,
  };
}

export const resilienceBenchmark: Benchmark = { name: 'resilience', summary: 'steady load while one of three backends is SIGKILLed', run };
