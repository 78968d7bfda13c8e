/**
 * What the hub benchmark drives a hub with: registrations (bulk and single gRPC calls), the
 * simulated sidecars' process (bench/lib/ads-swarm.ts) over IPC, and the distribution of the
 * times a change took to reach them. Shared by the fan-out figures and the store comparison.
 */
import type * as grpc from '@grpc/grpc-js';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/common/logger.js';
import { HubCredentials } from '../../src/wire/hub-credentials.js';
import { callUnary, createRegistryClient, type RegistryClient } from '../../src/wire/registry-client.js';
import type { SwarmCommand, SwarmReport } from './ads-swarm.js';
import { percentile } from './load.js';
import { NAMESPACE, type HubProc } from './mesh.js';
import { start } from './procs.js';
import { fmt } from './results.js';

const SWARM = fileURLToPath(new URL('./ads-swarm.js', import.meta.url));
export const WATCHED = 10;
export const PER_CONNECTION = 100;

export const cluster = (s: number): string => `svc-${s}.${NAMESPACE}`;
export const address = (n: number): string => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** Stream i watches the shared service svc-0 and nine others spread over the rest. */
export function watchSet(i: number, services: number): string[] {
  const names = [cluster(0)];
  for (let j = 0; j < WATCHED - 1; j++) names.push(cluster(1 + ((i * (WATCHED - 1) + j) % (services - 1))));
  return names;
}

/** The simulated sidecars' process, on the given cores, asked one command at a time. */
export class Swarm {
  readonly proc;
  private waiting: { kind: SwarmReport['kind']; resolve: (r: SwarmReport) => void; reject: (e: Error) => void } | undefined;
  constructor(cpus: string | undefined) {
    const proc = start('ads swarm', process.execPath, [SWARM], { cpus, ipc: true });
    this.proc = proc;
    proc.child.on('message', (r: SwarmReport) => {
      const w = this.waiting;
      if (w === undefined) return;
      if (r.kind === 'error') w.reject(new Error(`ads swarm: ${r.message}`));
      else if (r.kind === w.kind) {
        this.waiting = undefined;
        w.resolve(r);
      }
    });
    void proc.exited.then((code) => this.waiting?.reject(new Error(`ads swarm exited (${code}): ${proc.stderr().slice(-1500)}`)));
  }
  ask<K extends SwarmReport['kind']>(cmd: SwarmCommand, kind: K, ms: number): Promise<Extract<SwarmReport, { kind: K }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ads swarm: no '${kind}' within ${ms} ms`)), ms);
      this.waiting = {
        kind,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as Extract<SwarmReport, { kind: K }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.proc.child.send(cmd);
    });
  }
  /** Closes every stream, then the process. */
  async close(): Promise<void> {
    await this.ask({ kind: 'close' }, 'closed', 60_000);
    await this.proc.kill();
  }
}

export interface Dist {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  missing: number;
}

export function dist(times: number[], from: number): Dist {
  const d = times.filter((t) => !Number.isNaN(t)).map((t) => t - from).sort((a, b) => a - b);
  return { p50Ms: percentile(d, 50), p99Ms: percentile(d, 99), maxMs: d[d.length - 1] ?? NaN, missing: times.length - d.length };
}

/** The median run by p99. */
export function medianByP99(runs: Dist[]): Dist {
  return [...runs].sort((a, b) => a.p99Ms - b.p99Ms)[Math.floor(runs.length / 2)]!;
}

/** A registry client that presents the hub's token on every call. */
export function hubClient(hub: HubProc, options: grpc.ChannelOptions = {}): RegistryClient {
  const auth = hub.tokenFile !== undefined ? new HubCredentials({ tokenFile: hub.tokenFile, logger: silentLogger }).clientOptions : {};
  return createRegistryClient(hub.grpc, undefined, { ...options, ...auth });
}

export const registration = (n: number, services: number) => ({ id: `i-${n}`, service: `svc-${n % services}`, namespace: NAMESPACE, address: address(n), port: 8080, source: 'SOURCE_STATIC' as const, health: 'HEALTHY' as const });

export interface Registered {
  seconds: number;
  perSecond: number;
  failed: number;
}

/** Instances 0..total-1 through gRPC RegisterBatch, `batch` items a call, 4 calls in flight over 4 connections. */
export async function registerBulk(hub: HubProc, total: number, services: number, batch: number, log: (l: string) => void): Promise<Registered> {
  const clients: RegistryClient[] = Array.from({ length: 4 }, () => hubClient(hub, { 'grpc.use_local_subchannel_pool': 1 }));
  let next = 0;
  let failed = 0;
  let logged = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      clients.map(async (client) => {
        for (;;) {
          const from = next;
          if (from >= total) return;
          next = Math.min(total, from + batch);
          const items = Array.from({ length: next - from }, (_, k) => registration(from + k, services));
          const r = await callUnary(client, 'RegisterBatch', { items });
          failed += r.failed ?? 0;
          if (next - logged >= 20_000) {
            logged = next;
            log(`  registered ${next.toLocaleString('en-US')} (${fmt(next / ((performance.now() - t0) / 1000))}/s so far)`);
          }
        }
      }),
    );
  } finally {
    for (const c of clients) c.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, perSecond: total / seconds, failed };
}

/** `count` single gRPC Register calls (registering existing instances again), 256 in flight over 4 connections. */
export async function registerSingle(hub: HubProc, services: number, count: number): Promise<Registered> {
  const clients: RegistryClient[] = Array.from({ length: 4 }, () => hubClient(hub, { 'grpc.use_local_subchannel_pool': 1 }));
  let next = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 256 }, async (_, w) => {
      const client = clients[w % clients.length]!;
      for (;;) {
        const n = next++;
        if (n >= count) return;
        try {
          await callUnary(client, 'Register', registration(n, services));
        } catch {
          failed++;
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  for (const c of clients) c.close();
  return { seconds, perSecond: count / seconds, failed };
}
