/**
 * HTTP/1.1 data plane: the same two backends and the same load generators, direct and through
 * the sidecar (forward-proxy mode and per-upstream-port mode), HAProxy (one thread) and nginx
 * (one worker, upstream keepalive), and the Node floor (lib/floor-proxy.ts: a minimal forwarder
 * with Node's llhttp, what any Node proxy costs here). Closed loop with wrk, fixed rate with hey;
 * CPU seconds per 1,000 requests and peak RSS of the proxy from /proc.
 */
import { SkipBenchmark, type Benchmark, type BenchContext, type BenchOutcome } from './lib/context.js';
import { hey, wrk, wrkFixedRate, type LoadResult } from './lib/load.js';
import { NAMESPACE, haproxyConfig, hubOf, httpGet, nginxProxyBlock, startHaproxy, startHub, startNginx, startNginxBackends, startNodeBackend, startFloorProxy, startSidecar, sidecarRoutes, waitPort, type BackendProc } from './lib/mesh.js';
import { cpuSeconds, peakRssMb, rssMb } from './lib/proc-stat.js';
import { freePort, tempDir, type Proc } from './lib/procs.js';
import { fmt, markdownTable, verdict } from './lib/results.js';
import { findTool, missingReasons, toolVersion } from './lib/tools.js';

const SERVICE = 'echo';
const FQDN = `${SERVICE}.${NAMESPACE}`;
const CONNECTIONS = 32;
const RATES = [1000, 5000] as const;

interface Run extends LoadResult {
  /** Proxy CPU (user + system, whole process tree) per 1,000 requests, in seconds. */
  cpuSecondsPer1k: number | undefined;
}

interface PathResult {
  path: string;
  closed: Run;
  fixed: Array<Run & { targetRps: number; addedP50Ms: number | undefined; addedP99Ms: number | undefined; addedP999Ms: number | undefined }>;
  /** The same 1,000 req/s through hey, as a cross-check with a second generator. */
  hey?: Run & { targetRps: number };
  /** Peak RSS of the proxy's process tree over all its runs, MB. */
  peakRssMb: number | undefined;
  /** RSS of the proxy once ready, before any load, MB. */
  startRssMb: number | undefined;
  ratioToHaproxy?: { rps: number; cpuPer1k: number | undefined };
}

interface Target {
  path: string;
  /** Starts the proxy; returns its process (undefined for direct), the URL and the forward-proxy address when absolute-form. */
  setup(): Promise<{ proc: Proc | undefined; url: string; absolute?: string; proxy?: string }>;
}

async function measured(proc: Proc | undefined, fn: () => Promise<LoadResult>): Promise<Run> {
  const before = proc === undefined ? 0 : cpuSeconds(proc.pid);
  const r = await fn();
  const cpu = proc === undefined ? undefined : ((cpuSeconds(proc.pid) - before) / Math.max(1, r.requests)) * 1000;
  return { ...r, cpuSecondsPer1k: cpu };
}

async function run(ctx: BenchContext): Promise<BenchOutcome> {
  const skipped: string[] = [];
  if (findTool('wrk') === undefined) throw new SkipBenchmark(`http needs wrk: ${missingReasons.get('wrk')}`);
  const heyOk = findTool('hey') !== undefined;
  if (!heyOk) skipped.push(`hey cross-check at 1,000 req/s: ${missingReasons.get('hey')}`);
  const nginx = findTool('nginx');
  const haproxy = findTool('haproxy');
  const seconds = ctx.quick ? 2 : 15;
  const warmup = ctx.quick ? 1 : 3;
  const { proxy: proxyCpu, load: loadCpu } = ctx.cpus;
  const dir = tempDir('http');

  // Backends: nginx (one worker, a fixed 31-byte body) when present, so that they are never the
  // bottleneck; else two Node servers.
  const ports = [await freePort(), await freePort()];
  let backendKind: string;
  const backendProcs: Array<Proc | BackendProc> = [];
  if (nginx !== undefined) {
    backendProcs.push(await startNginxBackends(nginx, ports, loadCpu));
    backendKind = 'nginx, one worker, two server blocks returning a fixed 31-byte body';
  } else {
    skipped.push(`nginx backends and the nginx proxy row: ${missingReasons.get('nginx')}; Node backends used instead`);
    for (let i = 0; i < 2; i++) {
      const b = await startNodeBackend(`b${i + 1}`, loadCpu);
      ports[i] = b.port;
      backendProcs.push(b);
    }
    backendKind = 'two Node http servers with a fixed 31-byte body';
  }
  const hub = await startHub('hub', {
    static_instances: ports.map((port, i) => ({ id: `b${i + 1}`, service: SERVICE, namespace: NAMESPACE, address: '127.0.0.1', port, protocol: 'http' })),
  }, loadCpu);

  const sidecar = async (engine: 'llhttp' | 'node', upstreamPort?: number): Promise<{ proc: Proc; outbound: number }> => {
    const sc = await startSidecar(
      'sidecar',
      {
        service: 'client',
        http1_engine: engine,
        app: { port: ports[0] },
        ...hubOf(hub),
        upstreams: [{ service: FQDN, protocol: 'http', ...(upstreamPort !== undefined ? { local_port: upstreamPort } : {}) }],
      },
      proxyCpu,
    );
    const port = upstreamPort ?? sc.outboundPort;
    await sidecarRoutes(sc, async () => (upstreamPort !== undefined ? await httpGet(port) : await httpGet(port, `http://${FQDN}/`)).headers['x-backend'] !== undefined);
    return { proc: sc.proc, outbound: sc.outboundPort };
  };

  const targets: Target[] = [
    { path: 'direct (backend 1, no proxy)', setup: async () => ({ proc: undefined, url: `http://127.0.0.1:${ports[0]}/` }) },
    // The second design (raw sockets, llhttp) and the first (node:http + undici) in the same run.
    ...(['llhttp', 'node'] as const).flatMap((engine): Target[] => {
      const label = engine === 'llhttp' ? 'raw sockets + llhttp' : 'first design: node:http + undici';
      return [
        {
          path: `sidecar, forward proxy (absolute-form, as HTTP_PROXY; ${label})`,
          setup: async () => {
            const sc = await sidecar(engine);
            return { proc: sc.proc, url: `http://127.0.0.1:${sc.outbound}/`, absolute: `http://${FQDN}/`, proxy: `http://127.0.0.1:${sc.outbound}` };
          },
        },
        {
          path: `sidecar, per-upstream port (${label})`,
          setup: async () => {
            const port = await freePort();
            const sc = await sidecar(engine, port);
            return { proc: sc.proc, url: `http://127.0.0.1:${port}/` };
          },
        },
      ];
    }),
  ];
  targets.push({
    path: 'Node floor (bench/lib/floor-proxy.ts: llhttp both ways, nothing else)',
    setup: async () => {
      const { proc, port } = await startFloorProxy(ports, proxyCpu);
      return { proc, url: `http://127.0.0.1:${port}/` };
    },
  });
  if (haproxy !== undefined) {
    targets.push({
      path: 'HAProxy, nbthread 1',
      setup: async () => {
        const port = await freePort();
        const cfg = haproxyConfig(port, ports);
        const proc = startHaproxy(haproxy, cfg, proxyCpu);
        await waitPort(port, proc);
        return { proc, url: `http://127.0.0.1:${port}/` };
      },
    });
  } else skipped.push(`HAProxy row and ratios: ${missingReasons.get('haproxy')}`);
  if (nginx !== undefined) {
    targets.push({
      path: 'nginx, 1 worker, upstream keepalive',
      setup: async () => {
        const port = await freePort();
        const proc = await startNginx('nginx proxy', nginx, nginxProxyBlock(port, ports), proxyCpu);
        await waitPort(port, proc);
        return { proc, url: `http://127.0.0.1:${port}/` };
      },
    });
  }

  const results: PathResult[] = [];
  for (const t of targets) {
    ctx.log(`http: ${t.path}`);
    const s = await t.setup();
    const startRss = s.proc === undefined ? undefined : rssMb(s.proc.pid);
    const wrkOpts = { url: s.url, connections: CONNECTIONS, cpus: loadCpu, dir, ...(s.absolute !== undefined ? { absolute: s.absolute } : {}) };
    await wrk({ ...wrkOpts, seconds: warmup });
    const closed = await measured(s.proc, () => wrk({ ...wrkOpts, seconds }));
    ctx.log(`  closed loop: ${fmt(closed.rps)} req/s, p50 ${fmt(closed.p50Ms)} ms, p99 ${fmt(closed.p99Ms)} ms, p99.9 ${fmt(closed.p999Ms)} ms`);
    const fixed: PathResult['fixed'] = [];
    for (const rate of RATES) {
      const r = await measured(s.proc, () => wrkFixedRate({ ...wrkOpts, seconds, rate }));
      ctx.log(`  ${rate} req/s: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms, p99.9 ${fmt(r.p999Ms)} ms, errors ${r.errors}`);
      fixed.push({ ...r, targetRps: rate, addedP50Ms: undefined, addedP99Ms: undefined, addedP999Ms: undefined });
    }
    let heyRun: PathResult['hey'];
    if (heyOk) {
      const url = s.absolute ?? s.url;
      const r = await measured(s.proc, () => hey({ url, seconds, rate: 1000, cpus: loadCpu, ...(s.proxy !== undefined ? { proxy: s.proxy } : {}) }));
      ctx.log(`  hey 1000 req/s: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms, p99.9 ${fmt(r.p999Ms)} ms`);
      heyRun = { ...r, targetRps: 1000 };
    }
    const rss = s.proc === undefined ? undefined : peakRssMb(s.proc.pid);
    results.push({ path: t.path, closed, fixed, ...(heyRun !== undefined ? { hey: heyRun } : {}), peakRssMb: rss, startRssMb: startRss });
    await s.proc?.kill();
  }
  await hub.proc.kill();
  for (const b of backendProcs) await ('proc' in b ? b.proc : b).kill();

  const direct = results[0]!;
  const ha = results.find((r) => r.path.startsWith('HAProxy'));
  for (const r of results) {
    for (const f of r.fixed) {
      const d = direct.fixed.find((x) => x.targetRps === f.targetRps);
      if (d !== undefined && r !== direct) {
        f.addedP50Ms = f.p50Ms - d.p50Ms;
        f.addedP99Ms = f.p99Ms - d.p99Ms;
        f.addedP999Ms = f.p999Ms - d.p999Ms;
      }
    }
    if (ha !== undefined && r !== direct) {
      r.ratioToHaproxy = {
        rps: r.closed.rps / ha.closed.rps,
        cpuPer1k: r.closed.cpuSecondsPer1k !== undefined && ha.closed.cpuSecondsPer1k ? r.closed.cpuSecondsPer1k / ha.closed.cpuSecondsPer1k : undefined,
      };
    }
  }

  const closedTable = markdownTable(
    ['path', 'req/s', '× HAProxy', 'p50 ms', 'p99 ms', 'p99.9 ms', 'proxy CPU s / 1k req', 'CPU × HAProxy', 'RSS idle MB', 'peak RSS MB'],
    results.map((r) => [r.path, r.closed.rps, fmt(r.ratioToHaproxy?.rps, 2), r.closed.p50Ms, r.closed.p99Ms, r.closed.p999Ms, fmt(r.closed.cpuSecondsPer1k, 4), fmt(r.ratioToHaproxy?.cpuPer1k, 2), fmt(r.startRssMb, 1), fmt(r.peakRssMb, 1)]),
  );
  const fixedTable = markdownTable(
    ['path', 'target req/s', 'achieved req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'added p50 ms', 'added p99 ms', 'added p99.9 ms', 'proxy CPU s / 1k req', 'errors'],
    results.flatMap((r) => r.fixed.map((f) => [r.path, f.targetRps, f.rps, f.p50Ms, f.p99Ms, f.p999Ms, fmt(f.addedP50Ms, 3), fmt(f.addedP99Ms, 3), fmt(f.addedP999Ms, 3), fmt(f.cpuSecondsPer1k, 4), f.errors])),
  );
  const targetsRows: Array<[string, string, string, string]> = [];
  // The floor's own figures against the same targets: what any Node proxy reaches here.
  for (const r of results.filter((x) => x.path.startsWith('sidecar') || x.path.startsWith('Node floor'))) {
    const at1k = r.fixed.find((f) => f.targetRps === 1000);
    targetsRows.push(
      [r.path, 'req/s ≥ 0.8 × HAProxy (closed loop)', fmt(r.ratioToHaproxy?.rps, 2), verdict(r.ratioToHaproxy === undefined ? undefined : r.ratioToHaproxy.rps >= 0.8)],
      [r.path, 'added p99 ≤ 0.3 ms at 1,000 req/s', fmt(at1k?.addedP99Ms, 3), verdict(at1k?.addedP99Ms === undefined ? undefined : at1k.addedP99Ms <= 0.3)],
      [r.path, 'CPU ≤ 0.05 s per 1,000 requests at 1,000 req/s', fmt(at1k?.cpuSecondsPer1k, 4), verdict(at1k?.cpuSecondsPer1k === undefined ? undefined : at1k.cpuSecondsPer1k <= 0.05)],
      [r.path, 'peak RSS ≤ 64 MB', fmt(r.peakRssMb, 1), verdict(r.peakRssMb === undefined ? undefined : r.peakRssMb <= 64)],
    );
  }
  const table = [
    `Closed loop: wrk -t1 -c${CONNECTIONS}, ${seconds} s per path (after ${warmup} s of warm-up)`,
    '',
    ...closedTable,
    '',
    `Fixed rate: wrk paced (rate / 40 connections, each pausing 40 ms between a response and its next request), ${seconds} s per rate; added = this path minus direct at the same rate`,
    '',
    ...fixedTable,
    ...(heyOk
      ? [
          '',
          `Cross-check at 1,000 req/s with hey (10 workers × 100 req/s, latencies from its CSV at 0.1 ms resolution), ${seconds} s`,
          '',
          ...markdownTable(
            ['path', 'achieved req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'added p99 ms'],
            results.map((r) => [r.path, r.hey?.rps, r.hey?.p50Ms, r.hey?.p99Ms, r.hey?.p999Ms, r === direct || r.hey === undefined || direct.hey === undefined ? '' : fmt(r.hey.p99Ms - direct.hey.p99Ms, 3)]),
          ),
        ]
      : []),
    '',
    'Targets (reported, not asserted)',
    '',
    ...markdownTable(['path', 'target', 'measured', 'verdict'], targetsRows, ['l', 'l', 'r', 'l']),
  ];
  return {
    method: {
      backends: backendKind,
      discovery: `a real outrigger hub (static_instances: both backends as ${FQDN}) and a real outrigger sidecar process per sidecar row`,
      closedLoop: `wrk -t1 -c${CONNECTIONS} -d${seconds}s, percentiles from wrk's own histogram (Lua done hook), after a ${warmup} s warm-up`,
      fixedRate: `wrk -t1 -c<max(4, rate/40)> -d${seconds}s with a Lua delay() of connections × 1000 / rate ms per connection between a response and the next request; wrk's histogram (µs)`,
      fixedRateCrossCheck: heyOk ? `hey -z ${seconds}s -c 10 -q 100 -o csv at 1,000 req/s: percentiles from every request's time in the CSV (printed at 0.1 ms resolution)` : 'skipped',
      pinning: ctx.cpus.note,
      cpu: 'utime + stime of the proxy and all its descendants from /proc/<pid>/stat, after minus before each run, per 1,000 requests: seconds',
      rss: 'VmHWM from /proc/<pid>/status summed over the proxy process tree after all its runs: MB (2^20 bytes); idle: VmRSS once ready, before any load',
      latencyUnit: 'ms',
      tools: { wrk: toolVersion('wrk'), hey: toolVersion('hey'), haproxy: toolVersion('haproxy'), nginx: toolVersion('nginx') },
      quick: ctx.quick,
    },
    results,
    skipped,
    table,
  };
}

export const httpBenchmark: Benchmark = { name: 'http', summary: 'HTTP/1.1 data plane: direct, sidecar (two modes, both designs), the Node floor, HAProxy, nginx', run };
