/**
 * Reads a V8 .cpuprofile (`node --cpu-prof`) and sums self time per function, optionally only
 * over time windows: samples carry V8's monotonic clock in microseconds, the same clock as
 * `process.hrtime` in another process on the same machine, so a benchmark can profile one phase
 * of a process that runs for the whole benchmark.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTimeEntry {
  function: string;
  ms: number;
  share: number;
}

/** Monotonic microseconds, comparable with a .cpuprofile's sample times. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** The top `n` self-time entries (busy time: idle left out) within the windows ([start, end] monotonic µs; none: the whole profile). */
export function topSelfTime(file: string, n: number, windows: Array<[number, number]> = []): { totalMs: number; top: SelfTimeEntry[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const names = new Map<number, string>();
  for (const node of p.nodes) {
    const f = node.callFrame;
    const where = f.url === '' ? '' : ` ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}`;
    names.set(node.id, `${f.functionName || '(anonymous)'}${where}`);
  }
  const self = new Map<string, number>();
  let total = 0;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const span = p.timeDeltas[i + 1] ?? 0;
    if (windows.length > 0 && !windows.some(([a, b]) => t >= a && t <= b)) continue;
    const key = names.get(p.samples[i]!) ?? '?';
    // Idle time is the absence of work, not an entry of it.
    if (key === '(idle)') continue;
    self.set(key, (self.get(key) ?? 0) + span);
    total += span;
  }
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, us]) => ({ function: fn, ms: us / 1000, share: total > 0 ? us / total : 0 }));
  return { totalMs: total / 1000, top };
}
