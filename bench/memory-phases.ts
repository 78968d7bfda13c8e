/**
 * Where one sidecar's memory goes: `process.memoryUsage()` and `v8.getHeapSpaceStatistics()`
 * after each phase of its start-up (modules loaded, config parsed, the ADS client's protos
 * loaded, connected to a hub with its xDS, idle) and at the highest RSS sampled under wrk, with
 * the same backends, hub and pinning as the http benchmark. Optionally a heap snapshot after
 * the load, summed by V8's node types and by constructor.
 *
 *   npx tsc -p . && node dist/bench/memory-phases.js [--legacy] [--port] [--seconds N] [--idle N]
 *                                                     [--snapshot] [--node-args "--max-semi-space-size=1 ..."]
 */
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pinningPlan } from './lib/context.js';
import { wrk } from './lib/load.js';
import { NAMESPACE, hubOf, httpGet, startEchoMesh } from './lib/mesh.js';
import { cpuSeconds, peakRssMb } from './lib/proc-stat.js';
import { freePort, runScript, start, tempDir, type Proc } from './lib/procs.js';
import { fmt, markdownTable } from './lib/results.js';
import type { MemorySample } from './lib/sidecar-phases.js';
import { findTool } from './lib/tools.js';

const { values } = parseArgs({
  options: {
    legacy: { type: 'boolean' },
    port: { type: 'boolean' },
    seconds: { type: 'string' },
    idle: { type: 'string' },
    snapshot: { type: 'boolean' },
    'node-args': { type: 'string' },
  },
});
const seconds = Number(values.seconds ?? 15);
const idleSeconds = Number(values.idle ?? 10);
const nodeArgs = (values['node-args'] ?? '').split(' ').filter((a) => a !== '');
const PHASES = fileURLToPath(new URL('./lib/sidecar-phases.js', import.meta.url));
const FQDN = `echo.${NAMESPACE}`;
const MB = 1 << 20;
const cpus = pinningPlan();
const dir = tempDir('memory');

/** The child's replies, in order. */
function replies(proc: Proc): (key: string) => Promise<Record<string, unknown>> {
  const queue: Array<Record<string, unknown>> = [];
  const waiting: Array<(m: Record<string, unknown>) => void> = [];
  proc.child.on('message', (m: Record<string, unknown>) => {
    const w = waiting.shift();
    if (w !== undefined) w(m);
    else queue.push(m);
  });
  return (key) =>
    new Promise((resolve, reject) => {
      const take = (m: Record<string, unknown>): void => (key in m ? resolve(m) : reject(new Error(`expected ${key}, got ${JSON.stringify(m).slice(0, 200)}`)));
      const m = queue.shift();
      if (m !== undefined) take(m);
      else {
        waiting.push(take);
        void proc.exited.then((code) => reject(new Error(`sidecar exited (${code}): ${proc.stderr().slice(-1500)}`)));
      }
    });
}

const mb = (n: number): string => fmt(n / MB, 1);
const space = (s: MemorySample, name: string): number => s.spaces.find((x) => x.name === name)?.resident ?? 0;

function row(s: MemorySample): Array<string | number> {
  const heapResident = s.spaces.reduce((t, x) => t + x.resident, 0);
  const young = space(s, 'new_space') + space(s, 'new_large_object_space');
  const code = space(s, 'code_space') + space(s, 'code_large_object_space');
  return [
    s.phase,
    mb(s.rss),
    mb(s.heapUsed),
    mb(heapResident),
    mb(young),
    mb(space(s, 'old_space')),
    mb(code),
    mb(space(s, 'map_space') + space(s, 'large_object_space') + space(s, 'read_only_space') + space(s, 'shared_space')),
    mb(s.external),
    mb(s.arrayBuffers),
    mb(s.rssFile),
    mb(s.rssAnon - heapResident),
  ];
}

/** A heap snapshot summed by node type and by constructor (self sizes). */
async function snapshotSummary(file: string): Promise<string[]> {
  const snap = JSON.parse(await readFile(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const byType = new Map<string, number>();
  const byName = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]!]!;
    const size = snap.nodes[i + iSize]!;
    total += size;
    byType.set(type, (byType.get(type) ?? 0) + size);
    const name = type === 'object' || type === 'native' || type === 'hidden' || type === 'code' ? `${type}: ${snap.strings[snap.nodes[i + iName]!]!.slice(0, 60)}` : type;
    byName.set(name, (byName.get(name) ?? 0) + size);
  }
  const top = (m: Map<string, number>, n: number): Array<Array<string | number>> =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => [k, mb(v), `${fmt((v / total) * 100, 1)}%`]);
  return [
    `Heap snapshot ${file}: ${mb(total)} MB in all (self sizes)`,
    '',
    ...markdownTable(['node type', 'MB', 'share'], top(byType, 20)),
    '',
    ...markdownTable(['type: constructor or name', 'MB', 'share'], top(byName, 25)),
  ];
}

async function main(): Promise<void> {
  if (findTool('wrk') === undefined) throw new Error('memory-phases needs wrk');
  const { ports, backends, hub } = await startEchoMesh(cpus.load);
  const local = values.port === true ? await freePort() : undefined;
  // The same config as the http benchmark's sidecar rows (JSON is YAML).
  const file = path.join(dir, 'sidecar.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      namespace: NAMESPACE,
      outbound_port: 0,
      admin_port: 0,
      admin_bind: '127.0.0.1',
      dns: { listen: 'off' },
      log_level: 'warn',
      cache_file: path.join(dir, 'peers.json'),
      service: 'client',
      app: { port: ports[0] },
      ...hubOf(hub),
      http1_engine: values.legacy === true ? 'node' : 'llhttp',
      upstreams: [{ service: FQDN, ...(local !== undefined ? { local_port: local } : {}) }],
    }),
  );
  const proc = start('sidecar', process.execPath, [...nodeArgs, PHASES, file], { cpus: cpus.proxy, ipc: true });
  const next = replies(proc);
  const samples: MemorySample[] = [];
  const take = async (): Promise<void> => void samples.push((await next('sample'))['sample'] as MemorySample);
  for (let i = 0; i < 4; i++) await take();
  const { outboundPort } = (await next('started'))['started'] as { outboundPort: number };
  const target = local ?? outboundPort;
  const probe = async (): Promise<boolean> => (local !== undefined ? await httpGet(target) : await httpGet(target, `http://${FQDN}/`)).headers['x-backend'] !== undefined;
  for (let tries = 0; !(await probe().catch(() => false)); tries++) {
    if (tries > 600) throw new Error('the sidecar did not route within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const ask = async (phase: string): Promise<void> => {
    proc.child.send({ sample: phase });
    await take();
  };
  await ask('connected, xDS applied, one request routed');
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  await ask(`idle ${idleSeconds} s later`);
  const opts = { url: `http://127.0.0.1:${target}/`, connections: 32, cpus: cpus.load, dir, ...(local === undefined ? { absolute: `http://${FQDN}/` } : {}) };
  proc.child.send({ watch: true });
  await wrk({ ...opts, seconds: 3 });
  const cpuBefore = cpuSeconds(proc.pid);
  const r = await wrk({ ...opts, seconds });
  const cpuPer1k = ((cpuSeconds(proc.pid) - cpuBefore) / r.requests) * 1000;
  proc.child.send({ watch: false });
  await take();
  const hwm = peakRssMb(proc.pid);
  await new Promise((r) => setTimeout(r, 2000));
  await ask('2 s after the load');
  const lines = [
    `${values.legacy === true ? 'node:http + undici' : 'raw sockets + llhttp'}, ${local !== undefined ? 'per-upstream port' : 'forward proxy'}; sidecar flags: ${nodeArgs.join(' ') || '(none)'}; ${cpus.note}`,
    `load: wrk -t1 -c32, 3 s warm-up + ${seconds} s: ${fmt(r.rps)} req/s, ${fmt(cpuPer1k, 4)} CPU-s per 1,000 requests, ${r.errors} errors; peak RSS (VmHWM) ${fmt(hwm, 1)} MB`,
    '',
    ...markdownTable(
      ['phase', 'RSS', 'heap used', 'heap resident', 'young gen', 'old space', 'code space', 'other spaces', 'external', 'array buffers', 'file-backed', 'other anonymous'],
      samples.map(row),
    ),
    '',
    'MB (2^20 bytes). Heap columns are resident pages (physical_space_size) per V8 space; young gen = new space + new large objects; other = map, large object, read-only; file-backed = RssFile (the node binary\'s code and data, shared libraries); other anonymous = RssAnon − heap resident (malloc: native allocations, buffers\' backing stores, compiler zones; thread stacks).',
  ];
  if (values.snapshot === true) {
    // Kept outside the run's temp dir, which is removed at the end (open it in Chrome DevTools).
    const snapFile = path.join(tmpdir(), 'outrigger-sidecar.heapsnapshot');
    proc.child.send({ snapshot: snapFile });
    await next('snapshot');
    lines.push('', ...(await snapshotSummary(snapFile)));
  }
  process.stdout.write(lines.join('\n') + '\n');
  await proc.kill();
  await hub.proc.kill();
  for (const b of backends) await b.kill();
}

runScript(main);
