/** Results files: bench/results/<name>.json (full runs) or <name>.quick.json (--quick), and markdown tables. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo, type Machine } from './machine.js';

/** bench/results in the source tree (this file runs from dist/bench/lib/). */
export const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

export interface ResultsFile {
  name: string;
  date: string;
  quick: boolean;
  machine: Machine;
  /** How the figures were made: tools, pinning, sizes, durations, units. */
  method: Record<string, unknown>;
  results: unknown;
  /** What was skipped and why. */
  skipped: string[];
  /** Markdown table(s), as printed. */
  table: string[];
}

export function resultsPath(name: string, quick: boolean): string {
  return path.join(RESULTS_DIR, `${name}${quick ? '.quick' : ''}.json`);
}

export function writeResults(r: Omit<ResultsFile, 'date' | 'machine'>): string {
  const file = resultsPath(r.name, r.quick);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const full: ResultsFile = { name: r.name, date: new Date().toISOString(), quick: r.quick, machine: machineInfo(), method: r.method, results: r.results, skipped: r.skipped, table: r.table };
  writeFileSync(file, JSON.stringify(full, null, 2) + '\n');
  return file;
}

export type Cell = string | number | undefined;

const fmtNum = (x: number, digits: number): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** A number with a sensible precision for a table; '' for undefined or NaN. */
export function fmt(x: number | undefined, digits?: number): string {
  if (x === undefined || !Number.isFinite(x)) return '';
  if (digits !== undefined) return fmtNum(x, digits);
  if (Number.isInteger(x)) return fmtNum(x, 0);
  const a = Math.abs(x);
  return fmtNum(x, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
}

export function markdownTable(header: string[], rows: Cell[][], align?: Array<'l' | 'r'>): string[] {
  const al = header.map((_, i) => align?.[i] ?? (i === 0 ? 'l' : 'r'));
  const cell = (c: Cell): string => (typeof c === 'number' ? fmt(c) : (c ?? ''));
  return [`| ${header.join(' | ')} |`, `| ${al.map((a) => (a === 'r' ? '---:' : '---')).join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

/** "meets" / "misses" a target, for the target columns (reported, never asserted). */
export function verdict(ok: boolean | undefined): string {
  return ok === undefined ? 'n/a' : ok ? 'meets' : 'misses';
}
