/**
 * DNS: queries per second and latency of the hub's and the sidecar's DNS servers, each pinned to
 * one core, driven by dnsperf (Debian) from the other core, beside NSD serving the same records
 * from a zone file in the same run as the reference. The query mix is A and SRV of one service
 * with eight healthy instances, the answer Outrigger gives every client of a service.
 */
import { writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import path from 'node:path';
import { SkipBenchmark, type Benchmark, type BenchContext, type BenchOutcome } from './lib/context.js';
import { hubOf, NAMESPACE, startHub, startSidecar } from './lib/mesh.js';
import { freePort, runToEnd, start, tempDir, until, type Proc } from './lib/procs.js';
import { fmt, markdownTable, verdict } from './lib/results.js';
import { findTool, missingReasons, toolVersion } from './lib/tools.js';

const SERVICE = 'api';
const INSTANCES = 8;
/** Queries dnsperf keeps in flight: enough to keep one core busy. */
const OUTSTANDING = 100;

interface Row {
  server: string;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  lost: number;
  ratio?: number;
}

const address = (i: number): string => `10.0.0.${i}`;

/** The same records Outrigger answers, as an NSD zone. */
function zoneFile(): string {
  const origin = `${NAMESPACE}.`;
  const lines = [`$ORIGIN ${origin}`, '$TTL 5', `@ IN SOA ${origin} hostmaster.${origin} 1 3600 600 86400 5`, `@ IN NS ns.${origin}`, 'ns IN A 127.0.0.1'];
  for (let i = 1; i <= INSTANCES; i++) {
    lines.push(`${SERVICE} IN A ${address(i)}`);
    lines.push(`${SERVICE} IN SRV 1 100 ${8000 + i} ${address(i).replaceAll('.', '-')}.${SERVICE}`);
    lines.push(`_${SERVICE}._tcp IN SRV 1 100 ${8000 + i} ${address(i).replaceAll('.', '-')}.${SERVICE}`);
    lines.push(`${address(i).replaceAll('.', '-')}.${SERVICE} IN A ${address(i)}`);
  }
  return `${lines.join('\n')}\n`;
}

async function startNsd(nsd: string, port: number, cpus: string | undefined): Promise<Proc> {
  const dir = tempDir('nsd');
  writeFileSync(path.join(dir, `${NAMESPACE}.zone`), zoneFile());
  writeFileSync(
    path.join(dir, 'nsd.conf'),
    [
      'server:',
      `  ip-address: 127.0.0.1@${port}`,
      '  server-count: 1',
      '  username: ""',
      `  zonesdir: "${dir}"`,
      `  pidfile: "${dir}/nsd.pid"`,
      `  xfrdfile: "${dir}/xfrd.state"`,
      `  zonelistfile: "${dir}/zone.list"`,
      '  database: ""',
      '  verbosity: 0',
      // NSD's response rate limiting (200 qps per source by default) would measure the limit, not the server; Outrigger's is lifted too.
      '  rrl-ratelimit: 0',
      '  rrl-whitelist-ratelimit: 0',
      'remote-control:',
      '  control-enable: no',
      'zone:',
      `  name: ${NAMESPACE}`,
      `  zonefile: ${NAMESPACE}.zone`,
      '',
    ].join('\n'),
  );
  return start('nsd', nsd, ['-d', '-c', path.join(dir, 'nsd.conf')], { cpus });
}

async function answers(port: number): Promise<boolean> {
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return (await r.resolve4(`${SERVICE}.${NAMESPACE}`)).length === INSTANCES;
}

/** dnsperf for `seconds` against 127.0.0.1:port; -v prints each answer's latency, read for the percentiles. */
async function dnsperf(tool: string, port: number, seconds: number, queries: string, cpus: string | undefined): Promise<Omit<Row, 'server'>> {
  const out = await runToEnd('dnsperf', tool, ['-s', '127.0.0.1', '-p', String(port), '-d', queries, '-l', String(seconds), '-q', String(OUTSTANDING), '-c', '1', '-v'], { cpus, timeoutMs: (seconds + 60) * 1000 });
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out.stdout)?.[1] ?? NaN);
  const lostPct = Number(/Queries lost:\s+\d+ \(([\d.]+)%\)/.exec(out.stdout)?.[1] ?? NaN);
  const latencies: number[] = [];
  for (const m of out.stdout.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)) latencies.push(Number(m[1]) * 1000);
  latencies.sort((a, b) => a - b);
  const at = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  if (!Number.isFinite(qps)) throw new Error(`dnsperf printed no rate:\n${out.stdout.slice(-2000)}\n${out.stderr.slice(-2000)}`);
  return { qps, p50Ms: at(50), p99Ms: at(99), lost: lostPct };
}

async function run(ctx: BenchContext): Promise<BenchOutcome> {
  const perf = findTool('dnsperf');
  if (perf === undefined) throw new SkipBenchmark(missingReasons.get('dnsperf') ?? 'dnsperf not found');
  const nsd = findTool('nsd');
  const skipped: string[] = nsd === undefined ? [`nsd reference: ${missingReasons.get('nsd') ?? 'not found'}`] : [];
  const seconds = ctx.quick ? 3 : 15;
  const log = ctx.log;
  const dir = tempDir('dns-bench');
  const queries = path.join(dir, 'queries.txt');
  writeFileSync(queries, `${SERVICE}.${NAMESPACE} A\n_${SERVICE}._tcp.${NAMESPACE} SRV\n`);

  const [hubDns, sidecarDns, nsdPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const noLimit = { rate_limit: 10_000_000, rate_burst: 10_000_000 };
  const hub = await startHub('hub', { dns: { listen: `127.0.0.1:${hubDns}`, ...noLimit }, auth: { anonymous: { enabled: true, scopes: [NAMESPACE] } } }, ctx.cpus.proxy);
  for (let i = 1; i <= INSTANCES; i++) {
    const res = await fetch(`${hub.http}/api/v1/services`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hub.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: `${SERVICE}-${i}`, name: SERVICE, namespace: NAMESPACE, address: address(i), port: 8000 + i, ttl: 0, health: 'HEALTHY' }),
    });
    if (res.status >= 300) throw new Error(`registering ${SERVICE}-${i}: ${res.status} ${await res.text()}`);
  }
  const sidecar = await startSidecar(
    'sidecar',
    { service: 'client', app: { port: Number(new URL(hub.http).port) }, upstreams: [{ service: SERVICE }], dns: { listen: `127.0.0.1:${sidecarDns}`, ...noLimit }, ...hubOf(hub) },
    ctx.cpus.proxy,
  );
  const servers: Array<{ server: string; port: number }> = [
    { server: 'outrigger hub', port: hubDns },
    { server: 'outrigger sidecar', port: sidecarDns },
  ];
  if (nsd !== undefined) {
    await startNsd(nsd, nsdPort, ctx.cpus.proxy);
    servers.push({ server: `nsd (${toolVersion('nsd')})`, port: nsdPort });
  }
  for (const s of servers) await until(`${s.server} to answer`, () => answers(s.port), 60_000);
  // Warm up each (the JIT, NSD's caches), then measure; the hub and sidecar idle while the others run.
  const rows: Row[] = [];
  for (const s of servers) {
    await dnsperf(perf, s.port, 2, queries, ctx.cpus.load);
    const r = { server: s.server, ...(await dnsperf(perf, s.port, seconds, queries, ctx.cpus.load)) };
    log(`  ${s.server}: ${fmt(r.qps)} qps, p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms, lost ${fmt(r.lost)} %`);
    rows.push(r);
  }
  const peer = rows.find((r) => r.server.startsWith('nsd'));
  for (const r of rows) if (peer !== undefined) r.ratio = r.qps / peer.qps;
  void sidecar;
  const table = markdownTable(
    ['server', 'qps', 'p50 ms', 'p99 ms', 'lost %', '× nsd qps', 'target ≥ 1.0× nsd'],
    rows.map((r) => [r.server, r.qps, r.p50Ms, r.p99Ms, r.lost, r.ratio, r.server.startsWith('outrigger') ? verdict(r.ratio === undefined ? undefined : r.ratio >= 1) : '']),
  );
  return {
    method: {
      load: `dnsperf (${toolVersion('dnsperf')}) -q ${OUTSTANDING} -c 1 -l ${seconds}s, after a 2 s warm-up, one server at a time; queries alternate A and SRV of ${SERVICE}.${NAMESPACE} (${INSTANCES} healthy instances)`,
      pinning: ctx.cpus.note,
      reference: 'NSD serving the same records from a zone file, one server process, same core',
    },
    results: rows,
    skipped,
    table,
  };
}

export const dnsBenchmark: Benchmark = { name: 'dns', summary: "DNS qps and p99: the hub's and the sidecar's servers beside NSD (dnsperf)", run };
