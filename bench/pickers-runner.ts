/** Runs bench/pickers.ts as its own process (it is a standalone script) and keeps its results file. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Benchmark, BenchOutcome } from './lib/context.js';
import { runToEnd } from './lib/procs.js';
import { resultsPath } from './lib/results.js';

const SCRIPT = fileURLToPath(new URL('./pickers.js', import.meta.url));

export const pickersBenchmark: Benchmark = {
  name: 'pickers',
  summary: 'ns per pick for every policy at 3, 100 and 10,000 endpoints (bench/pickers.ts)',
  /** Writes its own results: the runner must not write them again. */
  async run(ctx): Promise<BenchOutcome> {
    // Pinned to the measured core, like the other processes under test.
    const r = await runToEnd('pickers', process.execPath, [SCRIPT, ...(ctx.quick ? ['--quick'] : [])], { cpus: ctx.cpus.proxy, timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`pickers exited ${r.code}: ${r.stderr.slice(-2000)}`);
    const file = JSON.parse(readFileSync(resultsPath('pickers', ctx.quick), 'utf8')) as { method: Record<string, unknown>; results: unknown; table: string[] };
    return { method: file.method, results: file.results, skipped: [], table: file.table };
  },
};
