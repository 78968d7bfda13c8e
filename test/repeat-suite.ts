/**
 * `npm run test:repeat -- N [ava arguments]`: runs the built suite N times in a row and prints,
 * per run, the pass and fail counts, then every test that failed with how often. For anyone who
 * suspects a flaky test: a failure seen once in N runs is named, with its run numbers.
 * Exits 1 if any run failed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/common/paths.js';

interface RunResult {
  passed: number;
  failed: number;
  code: number | null;
  failures: string[];
  seconds: number;
  output: string;
}

// ava's package exports no path to its command line; the installed tree does.
const AVA_CLI = path.join(PACKAGE_ROOT, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');

function runOnce(avaArgs: readonly string[]): Promise<RunResult> {
  const started = Date.now();
  const child = spawn(process.execPath, [AVA_CLI, ...avaArgs], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) =>
    child.once('close', (code) => {
      const lines = out.split('\n').map((l) => l.trim());
      // Not a TTY, so ava reports every test on a line of its own: ✔ passed, ✘ failed (or timed out,
      // or an uncaught error); its summary gives no pass count once something failed.
      const passed = lines.filter((l) => l.startsWith('✔')).length;
      const failedCount = Number(out.match(/(\d+) tests? failed/)?.[1] ?? 0);
      // ✘ marks failures, timeouts and crashes; ◌ the tests still running when ava timed out.
      const failures = [
        ...new Set([
          ...lines.filter((l) => l.startsWith('✘')).map((l) => l.replace(/\s+\(\d+(\.\d+)?m?s\)$/, '')),
          ...lines.filter((l) => l.startsWith('◌')).map((l) => `◌ still running at the timeout: ${l.slice(1).trim()}`),
        ]),
      ];
      resolve({ passed, failed: failedCount, code, failures, seconds: (Date.now() - started) / 1000, output: out });
    }),
  );
}

async function main(): Promise<void> {
  const [n, ...avaArgs] = process.argv.slice(2);
  const runs = Number(n ?? '5');
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
    process.stderr.write(`test:repeat: the number of runs must be an integer from 1 to 100, got ${JSON.stringify(n)}\n`);
    process.exit(2);
  }
  const logDir = mkdtempSync(path.join(tmpdir(), 'outrigger-test-repeat-'));
  const seen = new Map<string, number[]>();
  let failedRuns = 0;
  for (let i = 1; i <= runs; i++) {
    const r = await runOnce(avaArgs);
    const bad = r.code !== 0 || r.failed > 0 || r.failures.length > 0;
    if (bad) failedRuns++;
    for (const f of r.failures) seen.set(f, [...(seen.get(f) ?? []), i]);
    process.stdout.write(`run ${i}/${runs}: ${r.passed} passed, ${r.failed} failed, exit ${r.code}, ${r.seconds.toFixed(0)} s\n`);
    for (const f of r.failures) process.stdout.write(`  ${f}\n`);
    if (bad) {
      // The whole report of a failed run, for the error messages and logs behind each ✘.
      const file = path.join(logDir, `run-${i}.log`);
      writeFileSync(file, r.output);
      process.stdout.write(`  full output: ${file}\n`);
    }
  }
  process.stdout.write(`\n${runs - failedRuns} of ${runs} runs passed\n`);
  for (const [f, where] of [...seen].sort((a, b) => b[1].length - a[1].length)) {
    process.stdout.write(`  ${where.length}× (runs ${where.join(', ')}) ${f}\n`);
  }
  process.exit(failedRuns === 0 ? 0 : 1);
}

await main();
