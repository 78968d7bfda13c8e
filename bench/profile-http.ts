/**
 * A CPU profile of the sidecar's HTTP/1.1 path under wrk, pinned as in the http benchmark: two
 * nginx backends (or Node ones) and wrk on core 0, the sidecar alone on core 1 with
 * `node --cpu-prof`. Prints the top self-time entries and keeps the .cpuprofile (open it in
 * Chrome DevTools).
 *
 *   npx tsc -p . && node dist/bench/profile-http.js [--legacy] [--port] [--seconds N]
 *
 * --legacy profiles the node:http + undici path; --port the per-upstream port instead of the
 * forward proxy.
 */
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pinningPlan } from './lib/context.js';
import { wrk } from './lib/load.js';
import { NAMESPACE, hubOf, httpGet, sidecarRoutes, startEchoMesh, startSidecar } from './lib/mesh.js';
import { cpuSeconds, peakRssMb } from './lib/proc-stat.js';
import { freePort, runScript, tempDir } from './lib/procs.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}

const { values } = parseArgs({ options: { legacy: { type: 'boolean' }, port: { type: 'boolean' }, seconds: { type: 'string' }, 'no-profile': { type: 'boolean' } } });
const profiling = values['no-profile'] !== true;
const seconds = Number(values.seconds ?? 15);
const cpus = pinningPlan();
const dir = tempDir('profile');
const FQDN = `echo.${NAMESPACE}`;
/** Extra V8 flags for the sidecar (e.g. --max-semi-space-size=1) come from PROFILE_NODE_ARGS. */
const nodeArgs = [...(profiling ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []), ...(process.env['PROFILE_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '')];

async function main(): Promise<void> {
  const { ports, backends, hub } = await startEchoMesh(cpus.load);
  const local = values.port === true ? await freePort() : undefined;
  const sc = await startSidecar(
    'sidecar',
    { service: 'client', app: { port: ports[0] }, ...hubOf(hub), http1_engine: values.legacy === true ? 'node' : 'llhttp', upstreams: [{ service: FQDN, ...(local !== undefined ? { local_port: local } : {}) }] },
    cpus.proxy,
    nodeArgs,
  );
  const target = local ?? sc.outboundPort;
  await sidecarRoutes(sc, async () => (local !== undefined ? await httpGet(target) : await httpGet(target, `http://${FQDN}/`)).headers['x-backend'] !== undefined);
  const opts = { url: `http://127.0.0.1:${target}/`, connections: 32, cpus: cpus.load, dir, ...(local === undefined ? { absolute: `http://${FQDN}/` } : {}) };
  await wrk({ ...opts, seconds: 3 });
  const cpuBefore = cpuSeconds(sc.proc.pid);
  const r = await wrk({ ...opts, seconds });
  const cpuPer1k = ((cpuSeconds(sc.proc.pid) - cpuBefore) / r.requests) * 1000;
  process.stdout.write(
    `${values.legacy === true ? 'node:http + undici' : 'raw sockets + llhttp'}, ${local !== undefined ? 'per-upstream port' : 'forward proxy'}: ${Math.round(r.rps)} req/s over ${seconds} s, ${cpuPer1k.toFixed(4)} CPU-s per 1,000 requests, sidecar peak RSS ${peakRssMb(sc.proc.pid).toFixed(1)} MB (${cpus.note}; sidecar flags: ${nodeArgs.join(' ')})\n`,
  );
  if (!profiling) {
    await sc.proc.kill();
    await hub.proc.kill();
    for (const b of backends) await b.kill();
    return;
  }
  // The profile is written when the process exits normally.
  await fetch(`${sc.admin}/quitquitquit`, { method: 'POST' });
  await sc.proc.exited;
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error('no .cpuprofile was written');
  // Kept outside the run's temp dir, which is removed at the end.
  const kept = path.join(tmpdir(), `outrigger-http${values.legacy === true ? '-legacy' : ''}${local !== undefined ? '-port' : ''}.cpuprofile`);
  copyFileSync(path.join(dir, file), kept);
  const profile = JSON.parse(readFileSync(kept, 'utf8')) as { nodes: ProfileNode[] };
  const areas = new Map<string, number>();
  const self = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    total += n.hitCount;
    const f = n.callFrame;
    const where = f.url === '' ? '' : ` ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/').replace(/^node:/, 'node:')}:${f.lineNumber + 1}`;
    const key = `${f.functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + n.hitCount);
    const area = f.url.includes('/dist/src/') ? `outrigger ${f.url.replace(/^.*\/dist\/src\/([^/]+)\/.*$/, '$1')}` : f.url.includes('node_modules') ? 'dependencies' : f.url.startsWith('node:') ? "Node's JavaScript" : f.functionName.startsWith('(') ? f.functionName : 'native (syscalls, parser)';
    areas.set(area, (areas.get(area) ?? 0) + n.hitCount);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
  process.stdout.write(`profile: ${kept}\n\n| self time | where |\n| ---: | --- |\n`);
  for (const [area, hits] of [...areas.entries()].sort((a, b) => b[1] - a[1])) process.stdout.write(`| ${((hits / total) * 100).toFixed(1)}% | ${area} |\n`);
  process.stdout.write('\n| self time | function |\n| ---: | --- |\n');
  for (const [name, hits] of top) process.stdout.write(`| ${((hits / total) * 100).toFixed(1)}% | \`${name}\` |\n`);
  await hub.proc.kill();
  for (const b of backends) await b.kill();
}

runScript(main);
