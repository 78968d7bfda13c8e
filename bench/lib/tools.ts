/**
 * The reference tools (wrk, hey, haproxy, nginx) and etcd (the hub's etcd store): found with
 * `command -v`, installed from the Debian archive when missing and running as root, otherwise
 * reported as skipped with the reason.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export interface Tool {
  command: string;
  /** Debian package that provides it. */
  pkg: string;
}

export const TOOLS = {
  wrk: { command: 'wrk', pkg: 'wrk' },
  hey: { command: 'hey', pkg: 'hey' },
  haproxy: { command: 'haproxy', pkg: 'haproxy' },
  nginx: { command: 'nginx', pkg: 'nginx-light' },
  taskset: { command: 'taskset', pkg: 'util-linux' },
  dnsperf: { command: 'dnsperf', pkg: 'dnsperf' },
  nsd: { command: 'nsd', pkg: 'nsd' },
  etcd: { command: 'etcd', pkg: 'etcd-server' },
} as const satisfies Record<string, Tool>;

export type ToolName = keyof typeof TOOLS;

const found = new Map<ToolName, string | undefined>();
/** Why each missing tool is missing, for the skip messages. */
export const missingReasons = new Map<ToolName, string>();

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : undefined;
}

/** Path of the tool, installing it when possible; undefined (with a reason recorded) when not. */
export function findTool(name: ToolName): string | undefined {
  if (found.has(name)) return found.get(name);
  const t = TOOLS[name];
  let p = which(t.command);
  if (p === undefined) {
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!root) {
      missingReasons.set(name, `${t.command} not found and not running as root (install the Debian package ${t.pkg})`);
    } else {
      process.stderr.write(`${t.command} not found: apt-get install -y ${t.pkg}\n`);
      try {
        execFileSync('apt-get', ['install', '-y', t.pkg], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      } catch {
        // reported below
      }
      p = which(t.command);
      if (p === undefined) missingReasons.set(name, `${t.command} not found and \`apt-get install -y ${t.pkg}\` did not provide it`);
    }
  }
  found.set(name, p);
  return p;
}

/** Version line of a tool, for the results. */
export function toolVersion(name: ToolName): string {
  const p = findTool(name);
  if (p === undefined) return 'missing';
  const args: Record<ToolName, string[]> = { wrk: ['-v'], hey: [], haproxy: ['-v'], nginx: ['-v'], taskset: ['--version'], dnsperf: ['-h'], nsd: ['-v'], etcd: ['--version'] };
  const r = spawnSync(p, args[name], { encoding: 'utf8' });
  const text = `${r.stdout}\n${r.stderr}`;
  const line = text.split('\n').find((l) => /\d+\.\d+/.test(l));
  return (line ?? (name === 'hey' ? 'installed' : 'unknown')).trim().slice(0, 120);
}
