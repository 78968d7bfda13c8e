/** The machine a run happened on, recorded with every result. */
import os from 'node:os';

export interface Machine {
  cores: number;
  cpu: string;
  memoryBytes: number;
  node: string;
  platform: string;
  arch: string;
  /** 1, 5 and 15-minute load averages: other work on the machine makes figures noisier. */
  loadAverage: [number, number, number];
}

export function machineInfo(): Machine {
  const [a, b, c] = os.loadavg();
  const r = (x: number | undefined): number => Number((x ?? 0).toFixed(2));
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    loadAverage: [r(a), r(b), r(c)],
  };
}

export function describeMachine(m: Machine): string {
  return `${m.cores} cores (${m.cpu}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, load average ${m.loadAverage.join(' / ')}`;
}
