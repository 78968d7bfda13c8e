/**
 * The hub's memory per subscribed stream: the hub's resident set (from /proc) and its JS heap and
 * external memory (through the inspector) with N streams connected, minus the same with the
 * registry alone, divided by N. Idle readings follow a full garbage collection, so they hold
 * live data only; during a phase of changes the peak of readings every SAMPLE_MS is taken, with
 * no collection forced: what the hub holds while it pushes.
 */
import { callUnary, type RegistryClient } from '../../src/wire/registry-client.js';
import { address } from './hub-swarm.js';
import type { Inspector } from './inspector.js';
import { NAMESPACE } from './mesh.js';
import { rssMb } from './proc-stat.js';
import { sleep } from './procs.js';
import { fmt, markdownTable } from './results.js';

const MB = 2 ** 20;
const SAMPLE_MS = 250;

export interface MemoryReading {
  /** VmRSS, MB. */
  rssMb: number;
  heapUsedMb: number;
  /** Memory held outside the JS heap for JS objects, Buffers' bytes included, MB. */
  externalMb: number;
}

/** After a full garbage collection in the hub. */
export async function settledReading(pid: number, inspector: Inspector): Promise<MemoryReading> {
  await inspector.gc();
  const m = await inspector.memory();
  return { rssMb: rssMb(pid), heapUsedMb: m.heapUsed / MB, externalMb: m.external / MB };
}

export interface Churn {
  seconds: number;
  changes: number;
  peak: MemoryReading;
}

/**
 * `seconds` of changes to svc-0, one every `everyMs` (each awaited: a hub that answers slower
 * gets fewer), alternately adding an instance and removing it again so the service keeps its
 * size; the peak of each reading meanwhile.
 */
export async function churn(pid: number, inspector: Inspector, changer: RegistryClient, seconds: number, everyMs: number): Promise<Churn> {
  const peak: MemoryReading = { rssMb: 0, heapUsedMb: 0, externalMb: 0 };
  let running = true;
  const sampler = (async () => {
    while (running) {
      const m = await inspector.memory();
      peak.rssMb = Math.max(peak.rssMb, rssMb(pid));
      peak.heapUsedMb = Math.max(peak.heapUsedMb, m.heapUsed / MB);
      peak.externalMb = Math.max(peak.externalMb, m.external / MB);
      await sleep(SAMPLE_MS);
    }
  })();
  const t0 = performance.now();
  let changes = 0;
  try {
    while (performance.now() - t0 < seconds * 1000) {
      const next = performance.now() + everyMs;
      const id = `churn-${changes >> 1}`;
      if (changes % 2 === 0) await callUnary(changer, 'Register', { id, service: 'svc-0', namespace: NAMESPACE, address: address(changes), port: 8080, source: 'SOURCE_STATIC', health: 'HEALTHY' });
      else await callUnary(changer, 'Deregister', { id });
      changes++;
      await sleep(Math.max(0, next - performance.now()));
    }
  } finally {
    running = false;
    await sampler;
  }
  return { seconds: (performance.now() - t0) / 1000, changes, peak };
}

/** KB per stream above the registry alone. */
export const perStreamKb = (reading: number, alone: number, streams: number): number => ((reading - alone) * 1024) / streams;

export interface StreamMemory {
  subscribers: number;
  idle: MemoryReading;
  churn: Churn;
}

export function memoryTable(alone: MemoryReading, sets: StreamMemory[]): string[] {
  const row = (what: string, n: number | undefined, r: MemoryReading): Array<string | number | undefined> => [
    what,
    n,
    fmt(r.rssMb, 0),
    fmt(r.heapUsedMb, 0),
    fmt(r.externalMb, 0),
    n !== undefined ? fmt(perStreamKb(r.rssMb, alone.rssMb, n), 1) : '',
    n !== undefined ? fmt(perStreamKb(r.heapUsedMb + r.externalMb, alone.heapUsedMb + alone.externalMb, n), 1) : '',
  ];
  return [
    `Hub memory per stream (target ≤ 20 KB): idle readings after a full GC in the hub; under churn the peak of readings every ${SAMPLE_MS} ms while svc-0 (watched by every stream) changes`,
    '',
    ...markdownTable(
      ['reading', 'streams', 'RSS MB', 'heap used MB', 'external MB', 'RSS KB per stream', 'heap used + external KB per stream'],
      [
        row('registry alone (after registration, no stream)', undefined, alone),
        ...sets.flatMap((s) => [row('streams connected, idle', s.subscribers, s.idle), row(`under churn (${s.churn.changes} changes in ${fmt(s.churn.seconds, 1)} s, peak)`, s.subscribers, s.churn.peak)]),
      ],
    ),
    '',
  ];
}
