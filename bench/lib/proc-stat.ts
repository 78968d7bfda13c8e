/** CPU time and peak memory of a process and its descendants, read from /proc (Linux). */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

interface Stat {
  ppid: number;
  /** utime + stime in clock ticks. */
  cpu: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), cpu: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/** pid and every live descendant (nginx and haproxy workers, taskset's exec'd child). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st === undefined) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(name));
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** User + system CPU seconds used so far by the process tree (live processes only). */
export function cpuSeconds(root: number): number {
  let t = 0;
  for (const pid of processTree(root)) t += readStat(pid)?.cpu ?? 0;
  return t / clockTicks();
}

function statusKb(pid: number, field: string): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/** Peak resident set (VmHWM) summed over the process tree, in MB (2^20 bytes). */
export function peakRssMb(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) kb += statusKb(pid, 'VmHWM');
  return kb / 1024;
}

/** Current resident set (VmRSS) summed over the process tree, in MB. */
export function rssMb(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) kb += statusKb(pid, 'VmRSS');
  return kb / 1024;
}
