/** What the runner hands each benchmark, and what a benchmark hands back. */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { findTool } from './tools.js';
import { setPinning } from './procs.js';

export interface BenchContext {
  quick: boolean;
  /** CPU lists for taskset; undefined when pinning is off. */
  cpus: { proxy: string | undefined; load: string | undefined; pinned: boolean; note: string };
  log(line: string): void;
}

export interface BenchOutcome {
  method: Record<string, unknown>;
  results: unknown;
  skipped: string[];
  table: string[];
}

/** Thrown when a benchmark cannot run here at all (a required tool is missing): reported, not failed. */
export class SkipBenchmark extends Error {}

export interface Benchmark {
  name: string;
  summary: string;
  run(ctx: BenchContext): Promise<BenchOutcome>;
}

/**
 * With two or more cores and taskset: the process under test (proxy, sidecar, hub) gets core 1
 * to itself; the load generator, backends and everything else share core 0. The measured
 * process then competes with nothing, and every proxy is measured under the same constraint.
 */
export function pinningPlan(): BenchContext['cpus'] {
  const cores = os.cpus().length;
  if (cores < 2) {
    setPinning(false);
    return { proxy: undefined, load: undefined, pinned: false, note: 'not pinned: one core' };
  }
  if (findTool('taskset') === undefined) {
    setPinning(false);
    return { proxy: undefined, load: undefined, pinned: false, note: 'not pinned: taskset not found' };
  }
  setPinning(true);
  const rest = cores > 2 ? `0,2-${cores - 1}` : '0';
  // The runner itself drives some of the load (gRPC client, resilience client): keep it off core 1.
  spawnSync('taskset', ['-a', '-pc', rest, String(process.pid)], { stdio: 'ignore' });
  return { proxy: '1', load: rest, pinned: true, note: `taskset: process under test on core 1, load generator, backends and helpers on core(s) ${rest}` };
}
