/**
 * Interleaved rounds of the HTTP/1.1 bench: every path is started once, then measured in short
 * alternating runs (round 1: sidecar, HAProxy, ...; round 2: the same...), and each figure is the
 * median over the rounds, each ratio the median of the per-round ratios. On a shared machine a
 * disturbance then touches one short run of each path instead of one whole row, which makes the
 * ratios far steadier than one long run per path. Pinned like the http benchmark.
 *
 *   npx tsc -p . && node dist/bench/http-rounds.js [--rounds 5] [--seconds 5] [--rate 1000] [--nginx] [--legacy]
 *                                                  [--floor] [--compare <another build's dist/src/cli/main.js>]
 *                                                  [--node-args=<V8 flags>]...
 *
 * --rate adds paced rounds (wrk paced as in the http benchmark) with the direct path, for CPU per
 * 1,000 requests and added latency at that rate. --floor adds the bench-only minimal Node forwarder
 * (lib/floor-proxy.ts: what Node itself costs, with none of Outrigger's work). --compare runs a second sidecar from another
 * build beside this one (before/after a change, in the same rounds). Each --node-args adds a sidecar of
 * this build started with those flags (e.g. --node-args=--max-semi-space-size=2).
 */
import { parseArgs } from 'node:util';
import { pinningPlan } from './lib/context.js';
import { wrk, wrkFixedRate, type LoadResult } from './lib/load.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { NAMESPACE, haproxyConfig, hubOf, httpGet, nginxProxyBlock, sidecarRoutes, startHaproxy, startHub, startFloorProxy, startNginx, startNginxBackends, startNodeBackend, startSidecar, waitPort } from './lib/mesh.js';
import { cpuSeconds, peakRssMb } from './lib/proc-stat.js';
import { freePort, runScript, tempDir, type Proc } from './lib/procs.js';
import { fmt, markdownTable } from './lib/results.js';
import { findTool } from './lib/tools.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    rate: { type: 'string' },
    nginx: { type: 'boolean' },
    legacy: { type: 'boolean' },
    compare: { type: 'string' },
    floor: { type: 'boolean' },
    'node-args': { type: 'string', multiple: true },
  },
});
const rounds = Number(values.rounds ?? 5);
const seconds = Number(values.seconds ?? 5);
const rate = values.rate !== undefined ? Number(values.rate) : undefined;
const FQDN = `echo.${NAMESPACE}`;
const cpus = pinningPlan();
const dir = tempDir('rounds');

interface Path {
  name: string;
  proc: Proc | undefined;
  url: string;
  absolute?: string | undefined;
  closed: Array<{ rps: number; cpu: number | undefined; p99: number }>;
  paced: Array<{ rps: number; cpu: number | undefined; p50: number; p99: number }>;
}

async function measured(proc: Proc | undefined, fn: () => Promise<LoadResult>): Promise<{ r: LoadResult; cpu: number | undefined }> {
  const before = proc === undefined ? 0 : cpuSeconds(proc.pid);
  const r = await fn();
  return { r, cpu: proc === undefined ? undefined : ((cpuSeconds(proc.pid) - before) / Math.max(1, r.requests)) * 1000 };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const nginx = findTool('nginx');
  const haproxy = findTool('haproxy');
  if (findTool('wrk') === undefined || haproxy === undefined) throw new Error('http-rounds needs wrk and haproxy');
  const ports = [await freePort(), await freePort()];
  if (nginx !== undefined) await startNginxBackends(nginx, ports, cpus.load);
  else for (let i = 0; i < 2; i++) ports[i] = (await startNodeBackend(`b${i + 1}`, cpus.load)).port;
  const hub = await startHub('hub', { static_instances: ports.map((port, i) => ({ id: `b${i + 1}`, service: 'echo', namespace: NAMESPACE, address: '127.0.0.1', port, protocol: 'http' })) }, cpus.load);

  const paths: Path[] = [];
  const add = (name: string, proc: Proc | undefined, url: string, absolute?: string): void => void paths.push({ name, proc, url, absolute, closed: [], paced: [] });
  if (rate !== undefined) add('direct', undefined, `http://127.0.0.1:${ports[0]}/`);
  // One sidecar serves both the forward proxy and its per-upstream port (the runs never overlap).
  const sidecar = async (label: string, engine: 'llhttp' | 'node', cli?: string, nodeArgs: readonly string[] = []): Promise<void> => {
    const local = await freePort();
    const sc = await startSidecar(label, { service: 'client', app: { port: ports[0] }, ...hubOf(hub), http1_engine: engine, upstreams: [{ service: FQDN, local_port: local }] }, cpus.proxy, nodeArgs, cli);
    await sidecarRoutes(sc, async () => (await httpGet(local)).headers['x-backend'] !== undefined && (await httpGet(sc.outboundPort, `http://${FQDN}/`)).headers['x-backend'] !== undefined);
    add(`${label}, forward proxy`, sc.proc, `http://127.0.0.1:${sc.outboundPort}/`, `http://${FQDN}/`);
    add(`${label}, per-upstream port`, sc.proc, `http://127.0.0.1:${local}/`);
  };
  await sidecar('sidecar', 'llhttp');
  if (values.compare !== undefined) await sidecar('sidecar B', 'llhttp', values.compare);
  if (values.legacy === true) await sidecar('sidecar, first design', 'node');
  for (const args of values['node-args'] ?? []) await sidecar(`sidecar ${args}`, 'llhttp', undefined, args.split(' ').filter((a) => a !== ''));
  if (values.floor === true) {
    const { proc, port } = await startFloorProxy(ports, cpus.proxy);
    add('Node floor (bench/lib/floor-proxy.ts)', proc, `http://127.0.0.1:${port}/`);
  }
  const haPort = await freePort();
  const ha = startHaproxy(haproxy, haproxyConfig(haPort, ports), cpus.proxy);
  await waitPort(haPort, ha);
  add('HAProxy', ha, `http://127.0.0.1:${haPort}/`);
  if (values.nginx === true && nginx !== undefined) {
    const port = await freePort();
    const proc = await startNginx('nginx proxy', nginx, nginxProxyBlock(port, ports), cpus.proxy);
    await waitPort(port, proc);
    add('nginx', proc, `http://127.0.0.1:${port}/`);
  }

  const load0 = machineInfo().loadAverage;
  process.stdout.write(`machine: ${describeMachine(machineInfo())}\n${cpus.note}\n${rounds} rounds × ${seconds} s per path${rate !== undefined ? `, closed loop and paced at ${rate} req/s` : ''}\n`);
  for (let round = 0; round < rounds; round++) {
    // The order rotates so that no path always runs right after the same one.
    const order = paths.map((_, i) => paths[(i + round) % paths.length]!);
    for (const p of order) {
      const opts = { url: p.url, cpus: cpus.load, dir, ...(p.absolute !== undefined ? { absolute: p.absolute } : {}) };
      if (p.proc !== undefined) {
        await wrk({ ...opts, connections: 32, seconds: 1 });
        const { r, cpu } = await measured(p.proc, () => wrk({ ...opts, connections: 32, seconds }));
        p.closed.push({ rps: r.rps, cpu, p99: r.p99Ms });
      }
      if (rate !== undefined) {
        const { r, cpu } = await measured(p.proc, () => wrkFixedRate({ ...opts, seconds, rate }));
        p.paced.push({ rps: r.rps, cpu, p50: r.p50Ms, p99: r.p99Ms });
      }
    }
    process.stdout.write(`round ${round + 1}: ${paths.map((p) => `${p.name} ${p.closed.length > 0 ? fmt(p.closed[round]!.rps) : ''}`).join(', ')} (load ${machineInfo().loadAverage.join(' / ')})\n`);
  }
  const haPath = paths.find((p) => p.name === 'HAProxy')!;
  const direct = paths.find((p) => p.name === 'direct');
  const rows = paths
    .filter((p) => p.closed.length > 0)
    .map((p) => [
      p.name,
      median(p.closed.map((c) => c.rps)),
      fmt(median(p.closed.map((c, i) => c.rps / haPath.closed[i]!.rps)), 2),
      `${fmt(Math.min(...p.closed.map((c, i) => c.rps / haPath.closed[i]!.rps)), 2)}–${fmt(Math.max(...p.closed.map((c, i) => c.rps / haPath.closed[i]!.rps)), 2)}`,
      fmt(median(p.closed.map((c) => c.cpu ?? NaN)), 4),
      fmt(median(p.closed.map((c) => c.p99)), 2),
      ...(rate !== undefined
        ? [
            fmt(median(p.paced.map((c) => c.cpu ?? NaN)), 4),
            fmt(median(p.paced.map((c) => c.p50)), 3),
            fmt(median(p.paced.map((c) => c.p99)), 3),
            fmt(median(p.paced.map((c, i) => c.p99 - direct!.paced[i]!.p99)), 3),
          ]
        : []),
      fmt(p.proc === undefined ? undefined : peakRssMb(p.proc.pid), 1),
    ]);
  const header = [
    'path',
    'req/s (median)',
    '× HAProxy (median of rounds)',
    '× HAProxy range',
    'CPU s / 1k req',
    'p99 ms',
    ...(rate !== undefined ? [`CPU s / 1k at ${rate}/s`, `p50 ms at ${rate}/s`, `p99 ms at ${rate}/s`, `added p99 ms at ${rate}/s`] : []),
    'peak RSS MB',
  ];
  if (direct !== undefined) process.stdout.write(`direct at ${rate}/s: p50 ${fmt(median(direct.paced.map((c) => c.p50)), 3)} ms, p99 ${fmt(median(direct.paced.map((c) => c.p99)), 3)} ms\n`);
  process.stdout.write(`\n${markdownTable(header, rows).join('\n')}\n\nload average ${load0.join(' / ')} before the rounds, ${machineInfo().loadAverage.join(' / ')} after\n`);
  await hub.proc.kill();
}

runScript(main);
