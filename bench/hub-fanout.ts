/**
 * Hub fan-out: a real `outrigger hub` process holding M instances (S services), N subscribed
 * ADS streams from simulated sidecars (many streams per gRPC connection: the only honest way to
 * make thousands of subscribers from one machine), each watching one shared service plus nine
 * others (CDS + EDS). Measures registrations per second, the time from a registry change of the
 * shared service to the last subscriber receiving it, the hub's memory per stream (idle and under
 * churn), a reconnect storm, the hub's CPU and RSS, and the REST discover endpoint's throughput
 * with wrk beside a bare node:http floor; then the memory and etcd stores side by side.
 */
import { copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { callUnary } from '../src/wire/registry-client.js';
import type { FloorCommand, FloorReport } from './lib/ads-floor.js';
import type { SwarmOpened, SwarmUpdate } from './lib/ads-swarm.js';
import type { Benchmark, BenchContext, BenchOutcome } from './lib/context.js';
import { monotonicMicros, topSelfTime, type SelfTimeEntry } from './lib/cpu-profile.js';
import { capture, discoverRounds, type DiscoverRounds } from './lib/discover-rounds.js';
import { compareStores, storeShapeFromEnv, storesTable, type StoreShape } from './lib/hub-stores.js';
import { address, cluster, dist, hubClient, medianByP99, PER_CONNECTION, registerBulk, registerSingle, Swarm, watchSet, WATCHED, type Dist } from './lib/hub-swarm.js';
import { churn, memoryTable, perStreamKb, settledReading, type StreamMemory } from './lib/hub-memory.js';
import { Inspector, INSPECT_ARG } from './lib/inspector.js';
import { percentile, type LoadResult } from './lib/load.js';
import { NAMESPACE, startHub } from './lib/mesh.js';
import { cpuSeconds, peakRssMb, rssMb } from './lib/proc-stat.js';
import { sleep, start, tempDir } from './lib/procs.js';
import { fmt, markdownTable, verdict } from './lib/results.js';
import { findTool, missingReasons, toolVersion } from './lib/tools.js';

const CHANGES = 3;
/** The churn phase of the memory-per-stream figures: seconds of changes, one every CHURN_EVERY_MS. */
const CHURN_SECONDS = 5;
const CHURN_EVERY_MS = 100;
/** REST discover: rounds of the hub then its floor, each DISCOVER_SECONDS (1 s with --quick). */
const DISCOVER_ROUNDS = 3;
const DISCOVER_SECONDS = 5;

interface Shape {
  services: number;
  instancesPerService: number;
  subscriberSets: number[];
  storm: number;
}

const FULL: Shape = { services: 1000, instancesPerService: 100, subscriberSets: [1000, 10_000], storm: 5000 };
const QUICK: Shape = { services: 100, instancesPerService: 10, subscriberSets: [200, 1000], storm: 500 };

/**
 * The store comparison's shape, the same for both stores: the main shape's registry and its first
 * subscriber set, which etcd loads in under a minute here (the README says why). Batches of 50:
 * etcd refuses a transaction of more than 128 operations by default, and a batch is one.
 * BENCH_HUB_STORES_SHAPE="services,instancesPerService,subscribers,batch,singles" overrides it.
 */
const FULL_STORES: StoreShape = { services: 1000, instancesPerService: 100, subscribers: 1000, batch: 1000, singles: 5000 };
const QUICK_STORES: StoreShape = { services: 50, instancesPerService: 10, subscribers: 200, batch: 100, singles: 500 };

/** BENCH_HUB_SHAPE="services,instancesPerService,subscribers[/subscribers...],storm" overrides the shape (for trials at reduced sizes). */
function shapeFromEnv(text: string | undefined): Shape | undefined {
  const m = text?.match(/^(\d+),(\d+),([\d/]+),(\d+)$/);
  if (m === null || m === undefined) return undefined;
  return { services: Number(m[1]), instancesPerService: Number(m[2]), subscriberSets: m[3]!.split('/').map(Number), storm: Number(m[4]) };
}

interface FanoutResult {
  subscribers: number;
  connections: number;
  subscribeSeconds: number;
  subscribeFailed: number;
  /** Time from the first stream opening until every stream had its full config. */
  initialConfig: Dist;
  /** One entry per change of the shared service: time from the change until each subscriber got it. */
  changes: Dist[];
  /** The worst of the changes, by p99. */
  convergence: Dist;
  /** Median number of resources in the EDS response that carried a change. */
  resourcesPerUpdate: number;
  hubCpuSecondsSubscribe: number;
  hubCpuSecondsPerChange: number;
  hubRssMbSubscribed: number;
  memory: StreamMemory;
}

const BATCH = 1000;

async function run(ctx: BenchContext): Promise<BenchOutcome> {
  const shape = shapeFromEnv(process.env.BENCH_HUB_SHAPE) ?? (ctx.quick ? QUICK : FULL);
  const skipped: string[] = [];
  const total = shape.services * shape.instancesPerService;
  // BENCH_HUB_PROFILE=1: the hub runs under --cpu-prof, and the change phase of the largest
  // subscriber set is reported as top self-time entries.
  const profileDir = process.env.BENCH_HUB_PROFILE === '1' ? tempDir('hub-profile') : undefined;
  // The shape puts every instance in one namespace and every stream under one token, so the
  // per-namespace and per-identity limits are raised with the hub's size.
  const limits = { writes_per_second: 0, max_instances_per_namespace: Math.max(100_000, total * 2), max_streams_per_identity: Math.max(10_000, 4 * Math.max(...shape.subscriberSets, shape.storm)) };
  // The inspector lets the bench read the hub's heap and force a full GC before idle memory readings.
  const hub = await startHub('hub', { max_instances: Math.max(250_000, total * 2), limits }, ctx.cpus.proxy, [INSPECT_ARG, ...(profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])]);
  const inspector = await Inspector.connect(hub.proc);
  const log = ctx.log;
  let changeWindows: Array<[number, number]> = [];
  let updateBytes = 0;

  log(`hub: registering ${total.toLocaleString('en-US')} instances over gRPC RegisterBatch, ${BATCH} a call (${shape.services} services × ${shape.instancesPerService})`);
  let cpu0 = cpuSeconds(hub.proc.pid);
  const regWindow: [number, number] = [monotonicMicros(), 0];
  const reg = await registerBulk(hub, total, shape.services, BATCH, log);
  regWindow[1] = monotonicMicros();
  const regCpu = cpuSeconds(hub.proc.pid) - cpu0;
  log(`  ${fmt(reg.perSecond)} registrations/s, hub CPU ${fmt(regCpu)} s, hub RSS ${fmt(rssMb(hub.proc.pid))} MB`);
  const singles = Math.min(total, ctx.quick ? 1000 : 10_000);
  log(`hub: ${singles.toLocaleString('en-US')} single gRPC Register calls (existing instances again)`);
  cpu0 = cpuSeconds(hub.proc.pid);
  const singleWindow: [number, number] = [monotonicMicros(), 0];
  const single = await registerSingle(hub, shape.services, singles);
  singleWindow[1] = monotonicMicros();
  const singleCpu = cpuSeconds(hub.proc.pid) - cpu0;
  log(`  ${fmt(single.perSecond)} registrations/s, hub CPU ${fmt(singleCpu)} s`);
  const alone = await settledReading(hub.proc.pid, inspector);
  log(`  registry alone, after a full GC: RSS ${fmt(alone.rssMb, 0)} MB, heap used ${fmt(alone.heapUsedMb, 0)} MB, external ${fmt(alone.externalMb, 0)} MB`);

  const changer = hubClient(hub);
  let extra = 0;
  const fanouts: FanoutResult[] = [];
  for (const n of shape.subscriberSets) {
    log(`hub: ${n.toLocaleString('en-US')} subscribers, ${PER_CONNECTION} streams per connection, ${WATCHED} services each (svc-0 shared by all)`);
    const swarm = new Swarm(ctx.cpus.load);
    cpu0 = cpuSeconds(hub.proc.pid);
    const opened = await swarm.ask({ kind: 'open', hubs: [hub.grpc], ...(hub.token !== undefined ? { token: hub.token } : {}), streams: Array.from({ length: n }, (_, i) => watchSet(i, shape.services)), perConnection: PER_CONNECTION }, 'opened', 300_000);
    const subCpu = cpuSeconds(hub.proc.pid) - cpu0;
    const initial = dist(opened.fullConfigAt, opened.startedAt);
    log(`  all subscribed: full config p50 ${fmt(initial.p50Ms)} ms, max ${fmt(initial.maxMs)} ms, failed ${opened.failed}; hub CPU ${fmt(subCpu)} s, RSS ${fmt(rssMb(hub.proc.pid))} MB`);
    await sleep(1000);
    const idle = await settledReading(hub.proc.pid, inspector);
    log(`  idle, after a full GC: RSS ${fmt(idle.rssMb, 0)} MB (${fmt(perStreamKb(idle.rssMb, alone.rssMb, n), 1)} KB per stream), heap used + external ${fmt(idle.heapUsedMb + idle.externalMb, 0)} MB (${fmt(perStreamKb(idle.heapUsedMb + idle.externalMb, alone.heapUsedMb + alone.externalMb, n), 1)} KB per stream)`);
    const changes: Dist[] = [];
    const perUpdate: number[] = [];
    cpu0 = cpuSeconds(hub.proc.pid);
    changeWindows = [];
    for (let c = 0; c < CHANGES; c++) {
      const marked = swarm.ask({ kind: 'mark' }, 'update', 120_000);
      await sleep(200);
      const n2 = total + extra++;
      const t0 = performance.timeOrigin + performance.now();
      const w0 = monotonicMicros();
      await callUnary(changer, 'Register', { id: `extra-${n2}`, service: 'svc-0', namespace: NAMESPACE, address: address(n2), port: 8080, source: 'SOURCE_STATIC', health: 'HEALTHY' });
      const update: SwarmUpdate = await marked;
      changeWindows.push([w0, monotonicMicros()]);
      const d = dist(update.receivedAt, t0);
      changes.push(d);
      perUpdate.push(...update.resources);
      updateBytes = Math.max(updateBytes, ...update.bytes);
      log(`  change ${c + 1}: p50 ${fmt(d.p50Ms)} ms, p99 ${fmt(d.p99Ms)} ms, max ${fmt(d.maxMs)} ms, missing ${d.missing}`);
      await sleep(500);
    }
    const changeCpu = (cpuSeconds(hub.proc.pid) - cpu0) / CHANGES;
    const hubRssMbSubscribed = rssMb(hub.proc.pid);
    const churned = await churn(hub.proc.pid, inspector, changer, ctx.quick ? 3 : CHURN_SECONDS, CHURN_EVERY_MS);
    log(`  churn, ${churned.changes} changes in ${fmt(churned.seconds, 1)} s: peak RSS ${fmt(churned.peak.rssMb, 0)} MB (${fmt(perStreamKb(churned.peak.rssMb, alone.rssMb, n), 1)} KB per stream), heap used + external ${fmt(churned.peak.heapUsedMb + churned.peak.externalMb, 0)} MB`);
    fanouts.push({
      subscribers: n,
      connections: Math.ceil(n / PER_CONNECTION),
      subscribeSeconds: (Math.max(...opened.fullConfigAt.filter((t) => !Number.isNaN(t))) - opened.startedAt) / 1000,
      subscribeFailed: opened.failed,
      initialConfig: initial,
      changes,
      convergence: changes.reduce((a, b) => (b.p99Ms > a.p99Ms ? b : a)),
      resourcesPerUpdate: percentile(perUpdate.sort((a, b) => a - b), 50),
      hubCpuSecondsSubscribe: subCpu,
      hubCpuSecondsPerChange: changeCpu,
      hubRssMbSubscribed,
      memory: { subscribers: n, idle, churn: churned },
    });
    await swarm.close();
    await sleep(1000);
  }

  log(`hub: reconnect storm, ${shape.storm.toLocaleString('en-US')} streams at once`);
  const swarm = new Swarm(ctx.cpus.load);
  cpu0 = cpuSeconds(hub.proc.pid);
  const storm: SwarmOpened = await swarm.ask({ kind: 'open', hubs: [hub.grpc], ...(hub.token !== undefined ? { token: hub.token } : {}), streams: Array.from({ length: shape.storm }, (_, i) => watchSet(i, shape.services)), perConnection: PER_CONNECTION }, 'opened', 300_000);
  const stormCpu = cpuSeconds(hub.proc.pid) - cpu0;
  const stormFirst = dist(storm.firstResponseAt, storm.startedAt);
  const stormFull = dist(storm.fullConfigAt, storm.startedAt);
  log(`  first response: p50 ${fmt(stormFirst.p50Ms)} ms, max ${fmt(stormFirst.maxMs)} ms; full config max ${fmt(stormFull.maxMs)} ms; failed ${storm.failed}`);
  await swarm.close();
  changer.close();
  inspector.close();

  // REST discover: one service's instances (the full list) and the same with limit=1, each in
  // rounds alternating with its floor, a bare node:http server giving the same answer.
  const discover: Array<{ query: string; instances: number; bodyBytes: number } & LoadResult & Omit<DiscoverRounds, 'hub'>> = [];
  if (findTool('wrk') !== undefined) {
    const dir = tempDir('hub-wrk');
    for (const [query, instances] of [
      [`service_name=svc-1&namespace=${NAMESPACE}`, shape.instancesPerService],
      [`service_name=svc-1&namespace=${NAMESPACE}&limit=1`, 1],
    ] as const) {
      const url = `${hub.http}/api/v1/discover?${query}`;
      const headers: Record<string, string> = hub.token !== undefined ? { authorization: `Bearer ${hub.token}` } : {};
      const answer = await capture(url, headers);
      const bodyBytes = Buffer.from(answer.body, 'base64').length;
      const { hub: r, ...floor } = await discoverRounds(ctx, url, headers, answer, dir, DISCOVER_ROUNDS, ctx.quick ? 1 : DISCOVER_SECONDS);
      discover.push({ query, instances, bodyBytes, ...r, ...floor });
      log(`  GET /api/v1/discover?${query}: ${fmt(r.rps)} req/s, p99 ${fmt(r.p99Ms)} ms (${bodyBytes} bytes); bare node:http with the same answer ${fmt(floor.floor.rps)} req/s: hub ${fmt(floor.ratio, 2)}× (rounds ${fmt(floor.ratioRange[0], 2)}–${fmt(floor.ratioRange[1], 2)}×)`);
    }
  } else skipped.push(`REST discover: ${missingReasons.get('wrk')}`);
  const hubPeakRss = peakRssMb(hub.proc.pid);
  type Profiled = { totalMs: number; top: SelfTimeEntry[] };
  let profile: ({ file: string } & Profiled) | undefined;
  let regProfiles: { bulk: Profiled; single: Profiled } | undefined;
  if (profileDir !== undefined) {
    // The profile is written when the process exits normally.
    await hub.proc.kill('SIGTERM');
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) skipped.push('CPU profile: the hub wrote no .cpuprofile');
    else {
      // Kept outside the run's temp dirs, which are removed at the end.
      const kept = path.join(tmpdir(), 'outrigger-hub-change.cpuprofile');
      copyFileSync(path.join(profileDir, file), kept);
      profile = { file: kept, ...topSelfTime(kept, 10, changeWindows) };
      regProfiles = { bulk: topSelfTime(kept, 10, [regWindow]), single: topSelfTime(kept, 10, [singleWindow]) };
      log(`  CPU profile of the change phase (${fmt(profile.totalMs)} ms sampled): ${kept}`);
    }
  } else await hub.proc.kill();

  const biggest = fanouts[fanouts.length - 1]!;
  const floor = await measureFloor(ctx, shape, biggest.subscribers, updateBytes, log);

  const storeShape = storeShapeFromEnv(process.env.BENCH_HUB_STORES_SHAPE) ?? (ctx.quick ? QUICK_STORES : FULL_STORES);
  const stores = await compareStores(ctx, storeShape);
  skipped.push(...stores.skipped);
  const hubMedian = medianByP99(biggest.changes);
  const idleKb = perStreamKb(biggest.memory.idle.rssMb, alone.rssMb, biggest.subscribers);
  const churnKb = perStreamKb(biggest.memory.churn.peak.rssMb, alone.rssMb, biggest.subscribers);
  const oneInstance = discover.find((d) => d.instances === 1);
  const ratio = floor !== undefined && floor.p99Ms > 0 ? hubMedian.p99Ms / floor.p99Ms : NaN;
  const table = [
    `${total.toLocaleString('en-US')} instances (${shape.services} services × ${shape.instancesPerService}); each subscriber watches ${WATCHED} services (CDS + EDS), svc-0 shared by all; ${PER_CONNECTION} streams per gRPC connection`,
    '',
    ...markdownTable(
      ['subscribers', 'connections', 'all subscribed in s', 'change → subscriber p50 ms', 'p99 ms', 'max (last subscriber) ms', 'missing', 'resources per update', 'hub CPU s per change', 'hub RSS MB'],
      fanouts.map((f) => [f.subscribers, f.connections, fmt(f.subscribeSeconds, 2), f.convergence.p50Ms, f.convergence.p99Ms, f.convergence.maxMs, f.convergence.missing, f.resourcesPerUpdate, fmt(f.hubCpuSecondsPerChange, 3), fmt(f.hubRssMbSubscribed, 0)]),
    ),
    '',
    ...markdownTable(
      ['measure', 'value'],
      [
        [`registrations/s, bulk (gRPC RegisterBatch, ${BATCH} a call, 4 in flight over 4 connections)`, fmt(reg.perSecond, 0)],
        ['hub CPU s per 1,000 registrations, bulk', fmt((regCpu / total) * 1000, 3)],
        [`registrations/s, single calls (gRPC Register of ${singles.toLocaleString('en-US')} instances again, 256 in flight over 4 connections)`, fmt(single.perSecond, 0)],
        ['hub CPU s per 1,000 registrations, single calls', fmt((singleCpu / singles) * 1000, 3)],
        ...(floor !== undefined
          ? [
              [`floor: a bare grpc-js server writes one pre-encoded ${updateBytes.toLocaleString('en-US')}-byte message to the same ${biggest.subscribers.toLocaleString('en-US')} streams, p50 / p99 / max (median of ${CHANGES} pushes by p99)`, `${fmt(floor.p50Ms)} / ${fmt(floor.p99Ms)} / ${fmt(floor.maxMs)} ms`],
              [`hub change → ${biggest.subscribers.toLocaleString('en-US')} subscribers, p99 of the median change (${fmt(hubMedian.p99Ms)} ms) as a ratio to the floor's`, `${fmt(ratio, 2)}×`],
            ]
          : []),
        [`reconnect storm: ${shape.storm.toLocaleString('en-US')} streams at once, last first response`, `${fmt(stormFirst.maxMs)} ms`],
        ['reconnect storm: last full config (CDS + EDS of 10 services)', `${fmt(stormFull.maxMs)} ms`],
        ['reconnect storm: hub CPU', `${fmt(stormCpu, 2)} s`],
        ['hub peak RSS (VmHWM, whole run)', `${fmt(hubPeakRss, 0)} MB`],
      ],
    ),
    '',
    ...memoryTable(alone, fanouts.map((f) => f.memory)),
    ...(discover.length > 0
      ? markdownTable(
          [`REST GET /api/v1/discover (wrk -t1 -c32, median of ${DISCOVER_ROUNDS} rounds)`, 'instances in answer', 'body bytes', 'req/s', 'p50 ms', 'p99 ms', 'floor: bare node:http, same answer, req/s', 'floor p99 ms', 'hub / floor (median of rounds, range)', 'AI-CORE seed claim (its Rust server)'],
          discover.map((d) => [d.query, d.instances, d.bodyBytes, d.rps, d.p50Ms, d.p99Ms, d.floor.rps, d.floor.p99Ms, `${fmt(d.ratio, 2)}× (${fmt(d.ratioRange[0], 2)}–${fmt(d.ratioRange[1], 2)})`, '50,000 req/s, p99 < 10 ms']),
        )
      : []),
    '',
    ...storesTable(storeShape, stores.rows),
    ...(profile !== undefined
      ? [
          ...profileTable(`Hub CPU profile of the change phase at ${biggest.subscribers.toLocaleString('en-US')} subscribers`, profile),
          ...(regProfiles !== undefined ? [...profileTable('Hub CPU profile of bulk registration', regProfiles.bulk), ...profileTable('Hub CPU profile of single Register calls', regProfiles.single)] : []),
        ]
      : []),
    'Targets (reported, not asserted)',
    '',
    ...markdownTable(
      ['target', 'measured', 'verdict'],
      [
        [`${biggest.subscribers.toLocaleString('en-US')} subscribers over ${total.toLocaleString('en-US')} instances converge with p99 ≤ 500 ms`, `${fmt(biggest.convergence.p99Ms)} ms`, verdict(biggest.convergence.missing === 0 && biggest.convergence.p99Ms <= 500)],
        ['hub RSS ≤ 512 MB', `${fmt(hubPeakRss, 0)} MB`, verdict(hubPeakRss <= 512)],
        [`${shape.storm.toLocaleString('en-US')}-stream storm answered in ≤ 2 s`, `${fmt(stormFirst.maxMs / 1000, 2)} s`, verdict(stormFirst.missing === 0 && stormFirst.maxMs <= 2000)],
        [`memory per stream ≤ 20 KB, ${biggest.subscribers.toLocaleString('en-US')} streams idle (RSS above the registry alone)`, `${fmt(idleKb, 1)} KB`, verdict(idleKb <= 20)],
        [`memory per stream ≤ 20 KB, ${biggest.subscribers.toLocaleString('en-US')} streams under churn (peak RSS above the registry alone)`, `${fmt(churnKb, 1)} KB`, verdict(churnKb <= 20)],
        ...(oneInstance !== undefined
          ? [[`REST discover, one-instance answer ≥ 50,000 req/s (bare node:http on this machine: ${fmt(oneInstance.floor.rps, 0)} req/s)`, `${fmt(oneInstance.rps, 0)} req/s (${fmt(oneInstance.ratio, 2)}× the floor)`, verdict(oneInstance.rps >= 50_000)]]
          : []),
      ],
      ['l', 'r', 'l'],
    ),
  ];
  return {
    method: {
      hub: 'one `outrigger hub` process (in-memory store, default xds.coalesce 10 ms and max_concurrent_initial 256), pinned to the measured core',
      storeShape: { ...storeShape, custom: process.env.BENCH_HUB_STORES_SHAPE !== undefined },
      shape: { ...shape, custom: process.env.BENCH_HUB_SHAPE !== undefined, watchedPerSubscriber: WATCHED, streamsPerConnection: PER_CONNECTION, sharedService: cluster(0), changesPerSet: CHANGES },
      registration: `bulk: gRPC RegisterBatch, ${BATCH} items a call, 4 calls in flight over 4 connections; single: gRPC Register of existing instances again, 256 calls in flight over 4 connections; source SOURCE_STATIC (no lease)`,
      floor: 'a bare grpc-js server (bench/lib/ads-floor.ts) on the hub\'s core, after the hub has stopped, with the same simulated sidecars as the largest set; it writes one pre-encoded message of the size of the hub\'s update to every stream, three times; time from the push command to each stream receiving it',
      subscribers:
        'simulated sidecars in one separate Node process on the load core: raw state-of-the-world ADS streams (CDS then EDS, every response ACKed), many per HTTP/2 connection; responses are read only for version, type, nonce and resource count',
      convergence:
        'one new instance registered in svc-0 (watched by every subscriber): epoch time before the Register call to each stream\'s first EDS response after it; includes the simulated clients\' own queueing on a shared core, so an upper bound',
      storm: 'fresh streams opened all at once; time from the first open to each stream\'s first response (CDS) and full config (EDS for all 10 services)',
      discover: `wrk -t1 -c32 on the load core, after a 1 s warm-up of each side, in ${DISCOVER_ROUNDS} rounds of ${ctx.quick ? 1 : DISCOVER_SECONDS} s against the hub's REST API then against its floor: a bare node:http server (bench/lib/http-floor.ts) on the hub's core answering every request with the hub's own answer to the same query (status, headers and body bytes, captured once); req/s and latency of the median round, the ratio the median of the per-round ratios`,
      memoryPerStream: `hub started with ${INSPECT_ARG}; "registry alone" after registration and "idle" 1 s after every stream has its config, each after a full GC (HeapProfiler.collectGarbage); "under churn" the peak of readings every 250 ms during ${ctx.quick ? 3 : CHURN_SECONDS} s of changes to svc-0 (one every ${CHURN_EVERY_MS} ms, each awaited: an instance added, then removed), after the convergence changes; heap used and external from process.memoryUsage() in the hub; per stream = (reading − registry alone) / streams, KB of 1,024 bytes`,
      stores: `the store comparison (bench/lib/hub-stores.ts), after everything above, with hubs of its own: memory (one hub) and etcd (${findTool('etcd') !== undefined ? toolVersion('etcd') : 'not installed'}, one member on the load core, data dir under the temp dir, defaults but for the tests' short election settings; two hub replicas on the measured core, sharing the first one's tokens file); the same registrations (RegisterBatch of ${storeShape.batch}, then ${storeShape.singles} single Register calls) through replica 1, the same simulated sidecars (connections given to the replicas in turn), ${CHANGES} changes to svc-0 through replica 1; RSS read after the changes`,
      cpu: 'utime + stime of the hub process from /proc/<pid>/stat: seconds',
      rss: 'VmRSS / VmHWM of the hub: MB',
      pinning: ctx.cpus.note,
      quick: ctx.quick,
    },
    results: { registration: { instances: total, ...reg, hubCpuSeconds: regCpu, batch: BATCH }, singleRegistration: { calls: singles, ...single, hubCpuSeconds: singleCpu }, floor: floor ?? null, floorRatio: ratio, updateBytes, fanouts, storm: { streams: shape.storm, firstResponse: stormFirst, fullConfig: stormFull, failed: storm.failed, hubCpuSeconds: stormCpu }, discover, memoryPerStream: { registryAlone: alone, sets: fanouts.map((f) => ({ ...f.memory, idleKbPerStream: perStreamKb(f.memory.idle.rssMb, alone.rssMb, f.subscribers), churnKbPerStream: perStreamKb(f.memory.churn.peak.rssMb, alone.rssMb, f.subscribers) })) }, stores: stores.rows, hubPeakRssMb: hubPeakRss, ...(profile !== undefined ? { changePhaseProfile: { totalMs: profile.totalMs, top: profile.top }, registrationProfiles: regProfiles } : {}) },
    skipped,
    table,
  };
}

function profileTable(title: string, p: { totalMs: number; top: SelfTimeEntry[] }): string[] {
  return [`${title} (${fmt(p.totalMs)} ms sampled), top self time`, '', ...markdownTable(['self ms', 'share', 'function'], p.top.map((e) => [fmt(e.ms), `${fmt(e.share * 100, 1)}%`, `\`${e.function}\``])), ''];
}

const FLOOR = fileURLToPath(new URL('./lib/ads-floor.js', import.meta.url));

/** The floor in the same run: a bare grpc-js server writing one pre-encoded message to the same streams. */
async function measureFloor(ctx: BenchContext, shape: Shape, subscribers: number, bytes: number, log: (l: string) => void): Promise<Dist | undefined> {
  if (bytes === 0) return undefined;
  log(`hub: floor, a bare grpc-js server writing one ${bytes}-byte message to ${subscribers.toLocaleString('en-US')} streams`);
  const server = start('ads floor', process.execPath, [FLOOR], { cpus: ctx.cpus.proxy, ipc: true });
  const address = await new Promise<string>((resolve, reject) => {
    server.child.once('message', (r: FloorReport) => (r.kind === 'listening' ? resolve(r.address) : reject(new Error('ads floor: no address'))));
    void server.exited.then((code) => reject(new Error(`ads floor exited (${code}): ${server.stderr().slice(-1500)}`)));
  });
  const swarm = new Swarm(ctx.cpus.load);
  const opened = await swarm.ask({ kind: 'open', hubs: [address], streams: Array.from({ length: subscribers }, (_, i) => watchSet(i, shape.services)), perConnection: PER_CONNECTION }, 'opened', 300_000);
  if (opened.failed > 0) log(`  ${opened.failed} floor streams failed`);
  await sleep(1000);
  const runs: Dist[] = [];
  for (let c = 0; c < CHANGES; c++) {
    const marked = swarm.ask({ kind: 'mark' }, 'update', 120_000);
    await sleep(200);
    const t0 = performance.timeOrigin + performance.now();
    server.child.send({ kind: 'push', bytes } satisfies FloorCommand);
    const d = dist((await marked).receivedAt, t0);
    runs.push(d);
    log(`  floor push ${c + 1}: p50 ${fmt(d.p50Ms)} ms, p99 ${fmt(d.p99Ms)} ms, max ${fmt(d.maxMs)} ms, missing ${d.missing}`);
    await sleep(500);
  }
  await swarm.close();
  await server.kill();
  // The median run by p99, compared with the hub's median change.
  return medianByP99(runs);
}

export const hubBenchmark: Benchmark = { name: 'hub', summary: 'hub fan-out: registrations/s, xDS convergence, memory per stream, reconnect storm, REST discover with its floor, memory and etcd stores', run };
