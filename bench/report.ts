/**
 * Prints the results in bench/results/*.json as markdown, for bench/README.md:
 *   node dist/bench/report.js [<name>...] [--quick]
 * Full-run files by default; --quick prints the *.quick.json files instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { RESULTS_DIR } from './lib/results.js';

interface AnyResults {
  name?: string;
  date: string;
  quick?: boolean;
  machine: { cores: number; cpu: string; memoryBytes: number; node: string; loadAverage?: number[]; loadAverage1m?: number };
  skipped?: string[];
  table?: string[];
}

const { values, positionals } = parseArgs({ options: { quick: { type: 'boolean' } }, allowPositionals: true });
const quick = values.quick === true;
const files = readdirSync(RESULTS_DIR)
  .filter((f) => f.endsWith('.json') && f.endsWith('.quick.json') === quick)
  .filter((f) => positionals.length === 0 || positionals.includes(f.replace(/(\.quick)?\.json$/, '')))
  .sort();
for (const f of files) {
  const r = JSON.parse(readFileSync(path.join(RESULTS_DIR, f), 'utf8')) as AnyResults;
  const m = r.machine;
  const load = m.loadAverage !== undefined ? `${m.loadAverage.join(' / ')} (1 / 5 / 15 min)` : `${m.loadAverage1m ?? '?'} (1 min)`;
  process.stdout.write(`### ${r.name ?? f.replace(/\.json$/, '')}${quick ? ' (--quick)' : ''}\n\n`);
  process.stdout.write(
    `Run ${r.date.slice(0, 16).replace('T', ' ')} UTC (\`results/${f}\`): ${m.cores} cores (${m.cpu}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, load average ${load} at the end of the run.\n\n`,
  );
  if (r.table !== undefined) process.stdout.write(`${r.table.join('\n')}\n\n`);
  for (const s of r.skipped ?? []) process.stdout.write(`Skipped: ${s}\n\n`);
}
if (files.length === 0) process.stdout.write(`no ${quick ? 'quick ' : ''}results in bench/results/ yet: run \`npm run bench${quick ? ' -- --quick' : ''}\`\n`);
