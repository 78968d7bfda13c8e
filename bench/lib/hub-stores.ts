/**
 * The hub's two registry stores side by side, at one shape, in one run: `memory` (one hub) and
 * `etcd` (a local single-member etcd and two hub replicas sharing it). Each gets the same
 * registrations (bulk, then single calls) and the same simulated sidecars; with etcd the
 * sidecars are spread over both replicas and every write enters through the first, so a change
 * reaches half the subscribers through the other replica's etcd watch.
 */
import path from 'node:path';
import { callUnary } from '../../src/wire/registry-client.js';
import { EtcdCluster } from '../../test/helpers/etcd-cluster.js';
import type { BenchContext } from './context.js';
import { address, dist, hubClient, medianByP99, PER_CONNECTION, registerBulk, registerSingle, Swarm, watchSet, type Dist, type Registered } from './hub-swarm.js';
import { NAMESPACE, startHub, type HubProc } from './mesh.js';
import { cpuSeconds, peakRssMb, rssMb } from './proc-stat.js';
import { sleep, start, type Proc } from './procs.js';
import { fmt, markdownTable } from './results.js';
import { findTool, missingReasons } from './tools.js';

export interface StoreShape {
  services: number;
  instancesPerService: number;
  subscribers: number;
  /** Items per RegisterBatch call. */
  batch: number;
  /** Single Register calls (existing instances again). */
  singles: number;
}

export interface StoreRow {
  store: 'memory' | 'etcd';
  replicas: number;
  bulk: Registered & { hubCpuSeconds: number };
  single: Registered & { hubCpuSeconds: number };
  subscribeSeconds: number;
  subscribeFailed: number;
  /** One per change: every subscriber, then those on the replica the write entered through, then those on the other. */
  changes: Array<{ all: Dist; writeReplica: Dist; otherReplica: Dist | null }>;
  /** The median change by p99 over every subscriber. */
  median: Dist;
  /** Per replica, after the changes: VmRSS and VmHWM, MB. */
  hubRssMb: number[];
  hubPeakRssMb: number[];
  etcdRssMb: number | null;
  etcdPeakRssMb: number | null;
}

const CHANGES = 3;

/** Every StoreShape field from "services,instancesPerService,subscribers,batch,singles". */
export function storeShapeFromEnv(text: string | undefined): StoreShape | undefined {
  const m = text?.match(/^(\d+),(\d+),(\d+),(\d+),(\d+)$/);
  if (m === null || m === undefined) return undefined;
  return { services: Number(m[1]), instancesPerService: Number(m[2]), subscribers: Number(m[3]), batch: Number(m[4]), singles: Number(m[5]) };
}

function hubLimits(shape: StoreShape): Record<string, unknown> {
  const total = shape.services * shape.instancesPerService;
  return { max_instances: Math.max(250_000, total * 2), limits: { writes_per_second: 0, max_instances_per_namespace: Math.max(100_000, total * 2), max_streams_per_identity: Math.max(10_000, 4 * shape.subscribers) } };
}

/** Registrations, subscribers and changes against hubs[0] (writes) and every hub (subscribers). */
async function measure(ctx: BenchContext, store: StoreRow['store'], hubs: HubProc[], shape: StoreShape, etcd: Proc | undefined): Promise<StoreRow> {
  const log = ctx.log;
  const [writer] = hubs as [HubProc, ...HubProc[]];
  const total = shape.services * shape.instancesPerService;
  const hubCpu = (): number => hubs.reduce((s, h) => s + cpuSeconds(h.proc.pid), 0);
  let cpu0 = hubCpu();
  const bulk = await registerBulk(writer, total, shape.services, shape.batch, log);
  const bulkCpu = hubCpu() - cpu0;
  log(`  ${store}: ${fmt(bulk.perSecond)} registrations/s in bulk (${shape.batch} a call), failed ${bulk.failed}`);
  cpu0 = hubCpu();
  const single = await registerSingle(writer, shape.services, shape.singles);
  const singleCpu = hubCpu() - cpu0;
  log(`  ${store}: ${fmt(single.perSecond)} registrations/s in single calls, failed ${single.failed}`);

  const swarm = new Swarm(ctx.cpus.load);
  const changer = hubClient(writer);
  try {
    const opened = await swarm.ask(
      { kind: 'open', hubs: hubs.map((h) => h.grpc), ...(writer.token !== undefined ? { token: writer.token } : {}), streams: Array.from({ length: shape.subscribers }, (_, i) => watchSet(i, shape.services)), perConnection: PER_CONNECTION },
      'opened',
      300_000,
    );
    const subscribeSeconds = (Math.max(...opened.fullConfigAt.filter((t) => !Number.isNaN(t))) - opened.startedAt) / 1000;
    log(`  ${store}: ${shape.subscribers.toLocaleString('en-US')} subscribers over ${hubs.length} replica(s) in ${fmt(subscribeSeconds, 2)} s, failed ${opened.failed}`);
    await sleep(1000);
    // The swarm gives connections to the replicas in turn: stream i is on replica (i / PER_CONNECTION) % replicas.
    const onWriter = (i: number): boolean => Math.floor(i / PER_CONNECTION) % hubs.length === 0;
    const changes: StoreRow['changes'] = [];
    for (let c = 0; c < CHANGES; c++) {
      const marked = swarm.ask({ kind: 'mark' }, 'update', 120_000);
      await sleep(200);
      const n = total + c;
      const t0 = performance.timeOrigin + performance.now();
      await callUnary(changer, 'Register', { id: `extra-${n}`, service: 'svc-0', namespace: NAMESPACE, address: address(n), port: 8080, source: 'SOURCE_STATIC', health: 'HEALTHY' });
      const { receivedAt } = await marked;
      const all = dist(receivedAt, t0);
      const writeReplica = dist(receivedAt.filter((_, i) => onWriter(i)), t0);
      const otherReplica = hubs.length > 1 ? dist(receivedAt.filter((_, i) => !onWriter(i)), t0) : null;
      changes.push({ all, writeReplica, otherReplica });
      log(`  ${store} change ${c + 1}: p50 ${fmt(all.p50Ms)} ms, p99 ${fmt(all.p99Ms)} ms, missing ${all.missing}${otherReplica !== null ? ` (p99 ${fmt(writeReplica.p99Ms)} ms on the replica written to, ${fmt(otherReplica.p99Ms)} ms on the other)` : ''}`);
      await sleep(500);
    }
    return {
      store,
      replicas: hubs.length,
      bulk: { ...bulk, hubCpuSeconds: bulkCpu },
      single: { ...single, hubCpuSeconds: singleCpu },
      subscribeSeconds,
      subscribeFailed: opened.failed,
      changes,
      median: medianByP99(changes.map((c) => c.all)),
      hubRssMb: hubs.map((h) => rssMb(h.proc.pid)),
      hubPeakRssMb: hubs.map((h) => peakRssMb(h.proc.pid)),
      etcdRssMb: etcd !== undefined ? rssMb(etcd.pid) : null,
      etcdPeakRssMb: etcd !== undefined ? peakRssMb(etcd.pid) : null,
    };
  } finally {
    changer.close();
    await swarm.close();
  }
}

async function memoryRow(ctx: BenchContext, shape: StoreShape): Promise<StoreRow> {
  ctx.log('hub stores: memory, one hub');
  const hub = await startHub('hub memory store', hubLimits(shape), ctx.cpus.proxy);
  try {
    return await measure(ctx, 'memory', [hub], shape, undefined);
  } finally {
    await hub.proc.kill();
  }
}

async function etcdRow(ctx: BenchContext, shape: StoreShape): Promise<StoreRow> {
  ctx.log('hub stores: etcd, a local single-member etcd and two hub replicas');
  let etcdProc: Proc | undefined;
  // etcd is what the hubs depend on, like the other benchmarks' backends: on the load core.
  const etcd = await EtcdCluster.start(1, (args) => {
    etcdProc = start('etcd', 'etcd', args, { cpus: ctx.cpus.load });
    return etcdProc.child;
  });
  const hubs: HubProc[] = [];
  try {
    const store = { kind: 'etcd', endpoints: etcd.endpoints, prefix: '/outrigger-bench' };
    const first = await startHub('hub etcd replica 1', { ...hubLimits(shape), store }, ctx.cpus.proxy);
    hubs.push(first);
    // The second replica trusts the first one's tokens: one admin token for both.
    const tokens = first.tokenFile !== undefined ? { auth: { tokens_file: path.join(path.dirname(first.tokenFile), 'tokens.yaml') } } : {};
    const second = await startHub('hub etcd replica 2', { ...hubLimits(shape), store, ...tokens }, ctx.cpus.proxy);
    hubs.push({ ...second, ...(first.token !== undefined ? { token: first.token, tokenFile: first.tokenFile! } : {}) });
    return await measure(ctx, 'etcd', hubs, shape, etcdProc);
  } finally {
    for (const h of hubs) await h.proc.kill();
    await etcd.close();
  }
}

/** The memory row, then the etcd row (skipped, with the reason, when etcd is not installed). */
export async function compareStores(ctx: BenchContext, shape: StoreShape): Promise<{ rows: StoreRow[]; skipped: string[] }> {
  const rows = [await memoryRow(ctx, shape)];
  const skipped: string[] = [];
  if (findTool('etcd') === undefined) skipped.push(`store comparison, etcd rows: ${missingReasons.get('etcd')}`);
  else rows.push(await etcdRow(ctx, shape));
  return { rows, skipped };
}

export function storesTable(shape: StoreShape, rows: StoreRow[]): string[] {
  const total = shape.services * shape.instancesPerService;
  const mb = (xs: number[]): string => xs.map((x) => fmt(x, 0)).join(' + ');
  return [
    `Registry stores at one shape: ${total.toLocaleString('en-US')} instances (${shape.services} services × ${shape.instancesPerService}), ${shape.subscribers.toLocaleString('en-US')} subscribers (${PER_CONNECTION} streams per connection, spread over the replicas), writes through replica 1`,
    '',
    ...markdownTable(
      [
        'store',
        'hub replicas',
        `registrations/s, bulk (${shape.batch} a call)`,
        'hub CPU s per 1,000, bulk',
        `registrations/s, single calls (${shape.singles.toLocaleString('en-US')})`,
        'hub CPU s per 1,000, single',
        'change → all subscribers p50 ms',
        'p99 ms',
        'p99 on replica 1 / replica 2 ms',
        'missing',
        'hub RSS MB (per replica)',
        'hub peak RSS MB',
        'etcd RSS / peak MB',
      ],
      rows.map((r) => {
        const med = r.changes.find((c) => c.all === r.median)!;
        return [
          r.store,
          r.replicas,
          fmt(r.bulk.perSecond, 0),
          fmt((r.bulk.hubCpuSeconds / total) * 1000, 3),
          fmt(r.single.perSecond, 0),
          fmt((r.single.hubCpuSeconds / shape.singles) * 1000, 3),
          r.median.p50Ms,
          r.median.p99Ms,
          med.otherReplica !== null ? `${fmt(med.writeReplica.p99Ms)} / ${fmt(med.otherReplica.p99Ms)}` : '',
          r.median.missing,
          mb(r.hubRssMb),
          mb(r.hubPeakRssMb),
          r.etcdRssMb !== null ? `${fmt(r.etcdRssMb, 0)} / ${fmt(r.etcdPeakRssMb!, 0)}` : '',
        ];
      }),
    ),
    '',
  ];
}
