/**
 * gRPC unary calls: direct to one backend vs through the sidecar's per-upstream port (protocol
 * grpc), over ONE client connection with 32 calls in flight, and how evenly the sidecar spreads
 * that one connection's calls over three backends.
 */
import * as grpc from '@grpc/grpc-js';
import { fileURLToPath } from 'node:url';
import type { Benchmark, BenchContext, BenchOutcome } from './lib/context.js';
import { EchoClientCtor } from './lib/grpc-echo.js';
import { percentile } from './lib/load.js';
import { NAMESPACE, hubOf, startHub, startSidecar, sidecarRoutes } from './lib/mesh.js';
import { cpuSeconds, peakRssMb } from './lib/proc-stat.js';
import { freePort, start, type Proc } from './lib/procs.js';
import { fmt, markdownTable } from './lib/results.js';

const BACKEND = fileURLToPath(new URL('./lib/grpc-backend.js', import.meta.url));
const SERVICE = 'greeter';
const IN_FLIGHT = 32;

interface Phase {
  calls: number;
  errors: number;
  seconds: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Calls answered by each backend id. */
  byBackend: Record<string, number>;
}

/** Keeps IN_FLIGHT unary calls outstanding on one client (one HTTP/2 connection) for `seconds`. */
async function closedLoop(address: string, seconds: number): Promise<Phase> {
  // A private subchannel pool: one connection of our own, not shared with another client.
  const client = new EchoClientCtor(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const lat: number[] = [];
  const byBackend: Record<string, number> = {};
  let errors = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, (_, w) =>
      (async () => {
        let n = w;
        while (process.hrtime.bigint() < end) {
          const s = process.hrtime.bigint();
          await new Promise<void>((resolve) =>
            client.unary({ n: n++ }, (err, res) => {
              if (err !== null || res === undefined) errors++;
              else {
                lat.push(Number(process.hrtime.bigint() - s) / 1e6);
                byBackend[res.from] = (byBackend[res.from] ?? 0) + 1;
              }
              resolve();
            }),
          );
        }
      })(),
    ),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  client.close();
  lat.sort((a, b) => a - b);
  return { calls: lat.length, errors, seconds: secs, callsPerSecond: lat.length / secs, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), p999Ms: percentile(lat, 99.9), maxMs: lat[lat.length - 1] ?? NaN, byBackend };
}

interface PathResult extends Phase {
  path: string;
  cpuSecondsPer1k: number | undefined;
  peakRssMb: number | undefined;
  /** Largest share over smallest share among the three backends (1 = perfectly even). */
  spreadMaxOverMin: number | undefined;
}

async function run(ctx: BenchContext): Promise<BenchOutcome> {
  const seconds = ctx.quick ? 2 : 15;
  const warmup = ctx.quick ? 1 : 3;
  const backends = start('grpc backends', process.execPath, [BACKEND, '3'], { cpus: ctx.cpus.load });
  const [, list] = (await backends.waitFor(/ports (\S+)/)) as unknown as [string, string];
  const ports = list.split(',').map(Number);
  const hub = await startHub('hub', {
    static_instances: ports.map((port, i) => ({ id: `g${i + 1}`, service: SERVICE, namespace: NAMESPACE, address: '127.0.0.1', port, protocol: 'grpc' })),
  }, ctx.cpus.load);
  const local = await freePort();
  const sc = await startSidecar(
    'sidecar',
    { service: 'client', app: { port: ports[0] }, ...hubOf(hub), upstreams: [{ service: `${SERVICE}.${NAMESPACE}`, local_port: local, protocol: 'grpc' }] },
    ctx.cpus.proxy,
  );
  await sidecarRoutes(sc, async () => (await closedLoop(`127.0.0.1:${local}`, 0.05)).calls > 0);

  const results: PathResult[] = [];
  const measure = async (path: string, address: string, proc: Proc | undefined): Promise<void> => {
    ctx.log(`grpc: ${path}`);
    await closedLoop(address, warmup);
    const before = proc === undefined ? 0 : cpuSeconds(proc.pid);
    const r = await closedLoop(address, seconds);
    const cpu = proc === undefined ? undefined : ((cpuSeconds(proc.pid) - before) / Math.max(1, r.calls)) * 1000;
    const counts = ports.map((_, i) => r.byBackend[`g${i + 1}`] ?? 0);
    const spread = proc === undefined ? undefined : Math.max(...counts) / Math.max(1, Math.min(...counts));
    results.push({ path, ...r, cpuSecondsPer1k: cpu, peakRssMb: proc === undefined ? undefined : peakRssMb(proc.pid), spreadMaxOverMin: spread });
    ctx.log(`  ${fmt(r.callsPerSecond)} calls/s, p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms, by backend ${JSON.stringify(r.byBackend)}`);
  };
  await measure('direct (backend 1, no proxy)', `127.0.0.1:${ports[0]}`, undefined);
  await measure('sidecar, per-upstream port (protocol grpc, 3 backends)', `127.0.0.1:${local}`, sc.proc);
  await sc.proc.kill();
  await hub.proc.kill();
  await backends.kill();

  const total = (r: PathResult): number => Object.values(r.byBackend).reduce((a, b) => a + b, 0);
  const table = [
    `One grpc-js client connection, ${IN_FLIGHT} unary calls in flight, ${seconds} s per path (after ${warmup} s of warm-up)`,
    '',
    ...markdownTable(
      ['path', 'calls/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'sidecar CPU s / 1k calls', 'peak RSS MB', 'share per backend (g1 / g2 / g3)', 'max/min share', 'errors'],
      results.map((r) => [
        r.path,
        r.callsPerSecond,
        r.p50Ms,
        r.p99Ms,
        r.p999Ms,
        fmt(r.cpuSecondsPer1k, 4),
        fmt(r.peakRssMb, 1),
        ports.map((_, i) => `${fmt((100 * (r.byBackend[`g${i + 1}`] ?? 0)) / Math.max(1, total(r)), 1)}%`).join(' / '),
        fmt(r.spreadMaxOverMin, 3),
        r.errors,
      ]),
    ),
  ];
  return {
    method: {
      backends: 'three @grpc/grpc-js servers in one Node process (a JSON-coded unary echo service), on the load core',
      client: `one @grpc/grpc-js client with its own subchannel pool (one HTTP/2 connection), ${IN_FLIGHT} calls in flight, in the runner process on the load core`,
      discovery: `a real outrigger hub (static_instances, protocol grpc) and a real outrigger sidecar with upstreams: [{service: ${SERVICE}.${NAMESPACE}, local_port, protocol: grpc}]`,
      pinning: ctx.cpus.note,
      cpu: 'utime + stime of the sidecar from /proc/<pid>/stat per 1,000 calls: seconds',
      rss: 'VmHWM of the sidecar: MB',
      latencyUnit: 'ms, measured by the client per call',
      seconds,
      quick: ctx.quick,
    },
    results,
    skipped: [],
    table,
  };
}

export const grpcBenchmark: Benchmark = { name: 'grpc', summary: 'gRPC unary through the sidecar vs direct, spread over 3 backends', run };
