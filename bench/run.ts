/**
 * `npm run bench [-- <name>...] [--quick]`: runs the benchmarks, prints a table per benchmark
 * and writes bench/results/<name>.json (<name>.quick.json with --quick) with the date, the
 * machine and every figure. Every child process is killed when the run ends, fails or is
 * interrupted.
 */
import { parseArgs } from 'node:util';
import { dnsBenchmark } from './dns.js';
import { grpcBenchmark } from './grpc.js';
import { httpBenchmark } from './http.js';
import { hubBenchmark } from './hub-fanout.js';
import { pinningPlan, SkipBenchmark, type Benchmark, type BenchContext } from './lib/context.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { cleanupAll } from './lib/procs.js';
import { writeResults } from './lib/results.js';
import { pickersBenchmark } from './pickers-runner.js';
import { resilienceBenchmark } from './resilience.js';

const ALL: readonly Benchmark[] = [httpBenchmark, grpcBenchmark, pickersBenchmark, hubBenchmark, resilienceBenchmark, dnsBenchmark];

const HELP = `Usage: npm run bench [-- <name>...] [--quick]

Runs every benchmark, or the named ones, and writes bench/results/<name>.json.
  --quick   a smoke version: a few seconds each, small sizes; writes <name>.quick.json

Benchmarks:
${ALL.map((b) => `  ${b.name.padEnd(11)} ${b.summary}`).join('\n')}
`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ options: { quick: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const unknown = positionals.filter((n) => !ALL.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}\n\n${HELP}`);
    return 2;
  }
  const chosen = positionals.length === 0 ? ALL : ALL.filter((b) => positionals.includes(b.name));
  const quick = values.quick === true;
  const ctx: BenchContext = { quick, cpus: pinningPlan(), log: (line) => process.stdout.write(`${line}\n`) };
  process.stdout.write(`machine: ${describeMachine(machineInfo())}\n${ctx.cpus.note}${quick ? '\nquick mode: smoke-test sizes and durations, figures are not comparable with a full run' : ''}\n`);
  const failed: string[] = [];
  const skippedAll: string[] = [];
  for (const b of chosen) {
    const t0 = Date.now();
    process.stdout.write(`\n== ${b.name}: ${b.summary}\n`);
    try {
      const out = await b.run(ctx);
      const file = b.name === 'pickers' ? undefined : writeResults({ name: b.name, quick, method: out.method, results: out.results, skipped: out.skipped, table: out.table });
      process.stdout.write(`\n${out.table.join('\n')}\n`);
      for (const s of out.skipped) process.stdout.write(`skipped: ${s}\n`);
      skippedAll.push(...out.skipped.map((s) => `${b.name}: ${s}`));
      process.stdout.write(`${b.name}: ${((Date.now() - t0) / 1000).toFixed(0)} s${file !== undefined ? `, wrote ${file.split('/').slice(-3).join('/')}` : ''}\n`);
    } catch (err) {
      if (err instanceof SkipBenchmark) {
        process.stdout.write(`skipped: ${err.message}\n`);
        skippedAll.push(`${b.name}: ${err.message}`);
        continue;
      }
      failed.push(b.name);
      process.stderr.write(`${b.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    } finally {
      cleanupAll();
    }
  }
  if (skippedAll.length > 0) process.stdout.write(`\nSkipped:\n${skippedAll.map((s) => `  ${s}`).join('\n')}\n`);
  if (failed.length > 0) process.stderr.write(`\nFailed: ${failed.join(', ')}\n`);
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    cleanupAll();
    process.exit(code);
  },
  (err: unknown) => {
    cleanupAll();
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
