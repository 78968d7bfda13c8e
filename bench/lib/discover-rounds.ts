/**
 * The hub's REST discover throughput beside its floor: a bare node:http server
 * (bench/lib/http-floor.ts) answering the hub's own answer to the same query, on the hub's
 * core, under the same wrk. The two alternate in rounds, so a burst of other work on this
 * shared machine spoils one round rather than one side; the ratio is the median of the
 * per-round ratios.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './context.js';
import type { CapturedAnswer } from './http-floor.js';
import { wrk, type LoadResult } from './load.js';
import { start } from './procs.js';

const HTTP_FLOOR = fileURLToPath(new URL('./http-floor.js', import.meta.url));

export interface DiscoverRounds {
  /** The median round by req/s, hub and floor each. */
  hub: LoadResult;
  floor: LoadResult;
  /** Median and range of hub req/s ÷ floor req/s over the rounds. */
  ratio: number;
  ratioRange: [number, number];
  rounds: Array<{ hub: LoadResult; floor: LoadResult }>;
}

/** The hub's answer to one GET, byte for byte, with its status and headers. */
export function capture(url: string, headers: Record<string, string>): Promise<CapturedAnswer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const flat: Record<string, string> = {};
          for (let i = 0; i < res.rawHeaders.length; i += 2) flat[res.rawHeaders[i]!] = res.rawHeaders[i + 1]!;
          resolve({ status: res.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks).toString('base64') });
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const median = <T>(xs: T[], by: (x: T) => number): T => [...xs].sort((a, b) => by(a) - by(b))[Math.floor(xs.length / 2)]!;

export async function discoverRounds(ctx: BenchContext, url: string, headers: Record<string, string>, answer: CapturedAnswer, dir: string, rounds: number, seconds: number): Promise<DiscoverRounds> {
  const file = path.join(dir, `answer-${answer.body.length}.json`);
  writeFileSync(file, JSON.stringify(answer));
  const server = start('http floor', process.execPath, [HTTP_FLOOR, file], { cpus: ctx.cpus.proxy });
  try {
    const [, port] = (await server.waitFor(/listening on (\d+)/)) as unknown as [string, string];
    const floorUrl = `http://127.0.0.1:${port}${new URL(url).pathname}`;
    const load = (target: string, s: number): Promise<LoadResult> => wrk({ url: target, seconds: s, connections: 32, cpus: ctx.cpus.load, dir, headers });
    await load(url, 1);
    await load(floorUrl, 1);
    const done: DiscoverRounds['rounds'] = [];
    for (let r = 0; r < rounds; r++) done.push({ hub: await load(url, seconds), floor: await load(floorUrl, seconds) });
    const ratios = done.map((d) => d.hub.rps / d.floor.rps);
    return {
      hub: median(done.map((d) => d.hub), (x) => x.rps),
      floor: median(done.map((d) => d.floor), (x) => x.rps),
      ratio: median(ratios, (x) => x),
      ratioRange: [Math.min(...ratios), Math.max(...ratios)],
      rounds: done,
    };
  } finally {
    await server.kill();
  }
}
