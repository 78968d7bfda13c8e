/**
 * The measured hub's memory as V8 sees it, through the inspector of a process started with
 * INSPECT_ARG: a full garbage collection on request (so an idle reading holds live data, not
 * garbage not yet collected) and `process.memoryUsage()`. /proc gives the resident set; only
 * the process itself can tell its JS heap from the Buffers outside it.
 */
import { WebSocket } from 'undici';
import type { Proc } from './procs.js';

/** Node's inspector on a free loopback port; the process prints the URL to connect to. */
export const INSPECT_ARG = '--inspect=127.0.0.1:0';

export interface MemoryUsage {
  rss: number;
  heapUsed: number;
  /** Memory of C++ objects bound to JS, Buffers' ArrayBuffers included. */
  external: number;
  arrayBuffers: number;
}

export class Inspector {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (e) => {
      const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown; error?: { message: string } };
      const p = m.id !== undefined ? this.pending.get(m.id) : undefined;
      if (p === undefined) return;
      this.pending.delete(m.id!);
      if (m.error !== undefined) p.reject(new Error(`inspector: ${m.error.message}`));
      else p.resolve(m.result);
    });
    ws.addEventListener('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('inspector: connection closed'));
      this.pending.clear();
    });
  }

  static async connect(proc: Proc): Promise<Inspector> {
    const [, url] = (await proc.waitFor(/Debugger listening on (ws:\/\/\S+)/)) as unknown as [string, string];
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error(`inspector: cannot connect to ${proc.name}`)), { once: true });
    });
    return new Inspector(ws);
  }

  private call(method: string, params: Record<string, unknown> = {}, ms = 60_000): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`inspector: no answer to ${method} within ${ms} ms`));
      }, ms);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A full, synchronous garbage collection in the process. */
  async gc(): Promise<void> {
    await this.call('HeapProfiler.collectGarbage');
  }

  async memory(): Promise<MemoryUsage> {
    const r = (await this.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
    return JSON.parse(r.result.value) as MemoryUsage;
  }

  close(): void {
    this.ws.close();
  }
}
