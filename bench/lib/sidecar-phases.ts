/**
 * Child of bench/memory-phases.ts: starts a sidecar the way `outrigger sidecar --config <file>`
 * does, one phase at a time, and reports its memory after each phase over IPC. Nothing is
 * imported before the first sample, so each phase's figure includes only what it loaded.
 *
 *   node [V8 flags] dist/bench/lib/sidecar-phases.js <config file>
 *
 * Messages from the runner: {sample: name} (reply with a sample), {watch: true} (sample every
 * 100 ms and keep the one with the highest RSS), {watch: false} (reply with that peak),
 * {snapshot: file} (write a heap snapshot, reply when done).
 */
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';

export interface HeapSpace {
  name: string;
  /** Committed by V8 (space_size). */
  committed: number;
  /** Resident (physical_space_size). */
  resident: number;
  used: number;
}

export interface MemorySample {
  phase: string;
  rss: number;
  /** VmHWM: the peak resident set so far. */
  peakRss: number;
  /** RssFile: resident pages mapped from files (the node binary's code and data, shared libraries). */
  rssFile: number;
  /** RssAnon: anonymous resident pages (the V8 heap, malloc, thread stacks). */
  rssAnon: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: HeapSpace[];
}

/** A field of /proc/self/status, in bytes. */
function status(text: string, field: string): number {
  const m = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

function sample(phase: string): MemorySample {
  const u = process.memoryUsage();
  const st = readFileSync('/proc/self/status', 'utf8');
  const spaces = v8.getHeapSpaceStatistics().map((s) => ({ name: s.space_name, committed: s.space_size, resident: s.physical_space_size, used: s.space_used_size }));
  return { phase, rss: u.rss, peakRss: status(st, 'VmHWM'), rssFile: status(st, 'RssFile'), rssAnon: status(st, 'RssAnon'), heapTotal: u.heapTotal, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers, spaces };
}

const send = (message: unknown): void => void process.send!(message);

async function main(configFile: string): Promise<void> {
  send({ sample: sample('node (nothing imported)') });
  // What `outrigger sidecar` loads before it reads its config: the CLI's entry and the command.
  const { loadConfig } = await import('../../src/config/layered-config.js');
  const { resolveSidecarConfig, sidecarConfigSchema } = await import('../../src/config/sidecar-config.js');
  const { createLogger } = await import('../../src/common/logger.js');
  const { Sidecar } = await import('../../src/sidecar/sidecar.js');
  send({ sample: sample('modules loaded') });
  const { config: parsed } = loadConfig(sidecarConfigSchema, { args: ['--config', configFile], env: process.env });
  const config = resolveSidecarConfig(parsed, process.env);
  send({ sample: sample('config parsed') });
  // What the ADS client needs before its first response: both methods' codecs and the decoders.
  const { adsClientMethod, deltaClientMethod } = await import('../../src/xds/client/ads-client-wire.js');
  const { messageType } = await import('../../src/xds/envoy-protos.js');
  adsClientMethod();
  deltaClientMethod();
  messageType('envoy.config.cluster.v3.Cluster');
  messageType('envoy.config.endpoint.v3.ClusterLoadAssignment');
  send({ sample: sample('protos loaded') });
  const sidecar = new Sidecar(config, { logger: createLogger(config.log_level, { service: 'outrigger-sidecar', instance: config.instance_id }) });
  const at = await sidecar.start();
  send({ started: at });

  let peak: MemorySample | undefined;
  let watcher: NodeJS.Timeout | undefined;
  process.on('message', (m: { sample?: string; watch?: boolean; snapshot?: string }) => {
    if (m.sample !== undefined) send({ sample: sample(m.sample) });
    else if (m.watch === true) {
      peak = undefined;
      watcher = setInterval(() => {
        const s = sample('under load (highest RSS sampled)');
        if (peak === undefined || s.rss > peak.rss) peak = s;
      }, 100);
    } else if (m.watch === false) {
      clearInterval(watcher);
      send({ sample: peak ?? sample('under load (highest RSS sampled)') });
    } else if (m.snapshot !== undefined) {
      v8.writeHeapSnapshot(m.snapshot);
      send({ snapshot: m.snapshot });
    }
  });
}

main(process.argv[2]!).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
