/**
 * Picker benchmark: ns per pick for every policy at 3, 100 and 10,000 endpoints, the same with the
 * call hooks a proxied request adds (onCallStarted + onCallEnded), and the cost of rebuilding the
 * picker when one endpoint changes health. Reference rows in the same run: a plain array read
 * through the same harness (the floor every figure is compared to), and the O(n) scans that
 * weighted and least_connections avoid.
 *
 *   npx tsc -p . && node dist/bench/pickers.js [--quick]
 *
 * Prints a table and writes bench/results/pickers.json (pickers.quick.json with --quick: one
 * short pass, a few seconds). Takes about half a minute. `npm run bench -- pickers` runs it too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../src/common/clock.js';
import { machineInfo } from './lib/machine.js';
import {
  createPolicyRegistry,
  effectiveWeight,
  PolicyBalancer,
  type Endpoint,
  type PickContext,
  type Picker,
} from '../src/balancers/index.js';

const SIZES = [3, 100, 10_000] as const;
const QUICK = process.argv.includes('--quick');
const ROUND_MS = QUICK ? 5 : 20;
const PASSES = QUICK ? 1 : 5;

interface Case {
  label: string;
  policy: string;
  options?: Record<string, unknown>;
  weight: (i: number) => number;
  /** Whether picks carry a hash key. */
  keyed?: boolean;
}

const equal = (): number => 1;
const fewWeights = (i: number): number => [1, 2, 3, 5, 10][i % 5]!;
const manyWeights = (i: number): number => 1 + (i % 1000);

const CASES: Case[] = [
  { label: 'round_robin', policy: 'round_robin', weight: equal },
  { label: 'weighted (5 distinct weights)', policy: 'weighted', weight: fewWeights },
  { label: 'weighted (up to 1000 distinct weights)', policy: 'weighted', weight: manyWeights },
  { label: 'least_request (equal weights: P2C)', policy: 'least_request', weight: equal },
  { label: 'least_request (unequal weights: EDF)', policy: 'least_request', weight: fewWeights },
  { label: 'least_connections', policy: 'least_connections', weight: equal },
  { label: 'consistent_hash (header, ring 1024 min)', policy: 'consistent_hash', options: { hash_on: 'header', name: 'x-user' }, weight: fewWeights, keyed: true },
  {
    label: 'consistent_hash (header, ring 1M min)',
    policy: 'consistent_hash',
    options: { hash_on: 'header', name: 'x-user', minimum_ring_size: 1_048_576 },
    weight: fewWeights,
    keyed: true,
  },
  { label: 'consistent_hash (no key: random)', policy: 'consistent_hash', options: { hash_on: 'header', name: 'x-user' }, weight: fewWeights },
  { label: 'random (equal weights)', policy: 'random', weight: equal },
  { label: 'random (unequal weights: alias)', policy: 'random', weight: fewWeights },
  { label: 'peak_ewma', policy: 'peak_ewma', weight: equal },
];

function makeEndpoints(n: number, weight: (i: number) => number, unhealthy = -1): Endpoint[] {
  const out: Endpoint[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      id: `ep-${i}`,
      address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 8080,
      weight: weight(i),
      zone: 'zone-a',
      region: 'region-1',
      health: i === unhealthy ? 'UNHEALTHY' : 'HEALTHY',
      metadata: {},
    });
  }
  return out;
}

const KEYS = 4096;
const contexts: PickContext[] = [];
for (let i = 0; i < KEYS; i++) {
  const key = i % 2 === 0 ? `user-${(i * 7919) % 1_000_003}` : `session-${(i * 2654435761) >>> 0}`;
  contexts.push({ header: (name) => (name === 'x-user' ? key : undefined) });
}
const empty: PickContext = {};

let sink = 0;

/** Calls of fn per timed round: enough for about ROUND_MS. */
function calibrate(fn: (i: number) => unknown): number {
  let batch = 1000;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) if (fn(i) === undefined) sink++;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms > ROUND_MS / 4) return Math.max(1000, Math.round((batch * ROUND_MS) / ms));
    batch *= 2;
  }
}

/** ns per call of fn over one timed round. */
function round(fn: (i: number) => unknown, batch: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < batch; i++) if (fn(i) === undefined) sink++;
  return Number(process.hrtime.bigint() - t0) / batch;
}

/** Best of PASSES rounds, back to back (for the reference rows). */
function measure(fn: (i: number) => unknown): number {
  const batch = calibrate(fn);
  let best = Infinity;
  for (let pass = 0; pass < PASSES; pass++) best = Math.min(best, round(fn, batch));
  return best;
}

/** Median µs of fn over about ROUND_MS (at least 3 runs, at most 200). */
function slowRound(fn: (i: number) => void, offset: number): number {
  const times: number[] = [];
  const start = process.hrtime.bigint();
  while (times.length < 3 || (Number(process.hrtime.bigint() - start) < ROUND_MS * 1e6 && times.length < 200)) {
    const t0 = process.hrtime.bigint();
    fn(offset + times.length);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

/** Gives every endpoint some load and a latency history, so load-aware pickers have work to do. */
function loadUp(balancer: PolicyBalancer, endpoints: readonly Endpoint[]): void {
  let x = 12345;
  const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  for (const ep of endpoints) {
    const active = next() % 8;
    for (let k = 0; k < active; k++) balancer.onCallStarted(ep);
    balancer.onCallStarted(ep);
    balancer.onCallEnded(ep, 200, 2 + (next() % 50));
  }
}

interface Row {
  label: string;
  policy: string;
  options: Record<string, unknown>;
  size: number;
  nsPerPick: number;
  nsPerRequestWithHooks: number;
  rebuildUs: number;
}

interface Cell {
  row: Row;
  pick: (i: number) => unknown;
  request: (i: number) => unknown;
  rebuild: (i: number) => void;
  pickBatch: number;
  requestBatch: number;
}

const registry = createPolicyRegistry();
const cells: Cell[] = [];

for (const c of CASES) {
  for (const n of SIZES) {
    const policy = registry.create(c.policy, c.options ?? {});
    const balancer = new PolicyBalancer(policy, { clock: systemClock });
    const endpoints = makeEndpoints(n, c.weight);
    const changed = makeEndpoints(n, c.weight, n >> 1);
    balancer.updateEndpoints(endpoints);
    loadUp(balancer, endpoints);
    const picker: Picker = balancer.picker;
    const pick = c.keyed ? (i: number) => picker.pick(contexts[i & (KEYS - 1)]) : () => picker.pick(empty);
    const request = (i: number): unknown => {
      const ep = c.keyed ? balancer.picker.pick(contexts[i & (KEYS - 1)]) : balancer.picker.pick(empty);
      if (ep === undefined) return undefined;
      balancer.onCallStarted(ep);
      balancer.onCallEnded(ep, 200, 3);
      return ep;
    };
    // Alternates between the two lists; ends on the original one so the pick cells stay as built.
    const rebuild = (i: number): void => balancer.updateEndpoints(i % 2 === 0 ? changed : endpoints);
    const row: Row = { label: c.label, policy: c.policy, options: policy.options as Record<string, unknown>, size: n, nsPerPick: Infinity, nsPerRequestWithHooks: Infinity, rebuildUs: Infinity };
    cells.push({ row, pick, request, rebuild, pickBatch: calibrate(pick), requestBatch: calibrate(request) });
  }
}

// Passes over every cell, keeping each cell's best: a burst of other work on the machine spoils
// one pass of a cell, not the figure.
for (let pass = 0; pass < PASSES; pass++) {
  for (const cell of cells) {
    cell.row.nsPerPick = Math.min(cell.row.nsPerPick, round(cell.pick, cell.pickBatch));
    cell.row.nsPerRequestWithHooks = Math.min(cell.row.nsPerRequestWithHooks, round(cell.request, cell.requestBatch));
    cell.row.rebuildUs = Math.min(cell.row.rebuildUs, slowRound(cell.rebuild, pass % 2));
    cell.rebuild(1); // back to the original list
  }
}
const rows = cells.map((c) => c.row);

// References, through the same harness.
interface RefRow {
  label: string;
  size: number;
  nsPerPick: number;
}
const refs: RefRow[] = [];
for (const n of SIZES) {
  const endpoints = makeEndpoints(n, fewWeights);
  let r = 0;
  refs.push({
    label: 'reference: array read (harness floor)',
    size: n,
    nsPerPick: measure(() => {
      r = r + 1 === n ? 0 : r + 1;
      return endpoints[r];
    }),
  });
  const current = new Float64Array(n);
  const weights = Float64Array.from(endpoints, effectiveWeight);
  let total = 0;
  for (const w of weights) total += w;
  refs.push({
    label: 'reference: nginx smooth weighted, O(n) scan',
    size: n,
    nsPerPick: measure(() => {
      let best = 0;
      for (let i = 0; i < n; i++) {
        current[i] = current[i]! + weights[i]!;
        if (current[i]! > current[best]!) best = i;
      }
      current[best] = current[best]! - total;
      return endpoints[best];
    }),
  });
  const active = Int32Array.from(endpoints, (_, i) => (i * 7) % 8);
  let cursor = 0;
  refs.push({
    label: 'reference: least-connections, O(n) scan',
    size: n,
    nsPerPick: measure(() => {
      let best = -1;
      for (let k = 0; k < n; k++) {
        const i = (cursor + k) % n;
        if (best < 0 || active[i]! < active[best]!) best = i;
      }
      cursor = (best + 1) % n;
      return endpoints[best];
    }),
  });
}

const floor = (n: number): number => refs.find((r) => r.size === n && r.label.startsWith('reference: array'))!.nsPerPick;
const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const lines: string[] = [];
lines.push('| policy | ns/pick @3 | @100 | @10,000 | × floor @10,000 | ns/request with hooks @10,000 | rebuild @3 | @100 | @10,000 |');
lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const c of CASES) {
  const r = SIZES.map((n) => rows.find((x) => x.label === c.label && x.size === n)!);
  lines.push(
    `| ${c.label} | ${r.map((x) => fmt(x.nsPerPick)).join(' | ')} | ${fmt(r[2]!.nsPerPick / floor(10_000), 1)} | ${fmt(r[2]!.nsPerRequestWithHooks)} | ${r
      .map((x) => (x.rebuildUs >= 1000 ? `${fmt(x.rebuildUs / 1000, 1)} ms` : `${fmt(x.rebuildUs, 1)} µs`))
      .join(' | ')} |`,
  );
}
const refLabels = [...new Set(refs.map((r) => r.label))];
for (const label of refLabels) {
  const r = SIZES.map((n) => refs.find((x) => x.label === label && x.size === n)!);
  lines.push(`| ${label} | ${r.map((x) => fmt(x.nsPerPick)).join(' | ')} | ${fmt(r[2]!.nsPerPick / floor(10_000), 1)} | | | | |`);
}

const machine = {
  ...machineInfo(),
  /** 1-minute load average when the run ended: other work on the machine makes figures noisier. */
  loadAverage1m: Number(os.loadavg()[0]!.toFixed(2)),
};
console.log(
  `pickers: ${machine.cores} cores (${machine.cpu}), ${fmt(machine.memoryBytes / 2 ** 30, 1)} GiB, Node ${machine.node}, load average ${machine.loadAverage1m}`,
);
console.log(`ns per pick: best of ${PASSES} passes over all cells; rebuild: one endpoint changes health, median per update, best pass\n`);
for (const line of lines) console.log(line);

const out = new URL(`../../bench/results/pickers${QUICK ? '.quick' : ''}.json`, import.meta.url);
mkdirSync(new URL('.', out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      name: 'pickers',
      date: new Date().toISOString(),
      quick: QUICK,
      machine,
      method: {
        sizes: SIZES,
        roundMs: ROUND_MS,
        passes: PASSES,
        nsPerPick: 'best of passes (each a timed round of about roundMs); picker.pick() with load and latency history set on every endpoint',
        nsPerRequestWithHooks: 'balancer.picker.pick() + onCallStarted + onCallEnded(200, 3 ms)',
        rebuildUs: 'median µs of balancer.updateEndpoints() alternating between two lists that differ in one endpoint\'s health, best of passes',
      },
      results: rows,
      references: refs,
      skipped: [],
      table: lines,
      sink,
    },
    null,
    2,
  ) + '\n',
);
console.log(`\nwrote ${fileURLToPath(out).split('/').slice(-3).join('/')}`);
