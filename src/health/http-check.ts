import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { HttpCheckConfig, StatusRange } from './check-config.js';
import { abortReason, describeError, fail, pass, type HealthProbe, type ProbeResult } from './probe.js';

export type HttpProbeOptions = Pick<
  HttpCheckConfig,
  'scheme' | 'method' | 'path' | 'host' | 'headers' | 'expectedStatuses' | 'tlsSkipVerify'
> & { address: string; port: number };

/** Enough of the body to explain a failure; the rest is not read. */
const MAX_BODY_BYTES = 4096;
const USER_AGENT = 'Outrigger-Health-Check';

export function statusExpected(status: number, ranges: readonly StatusRange[]): boolean {
  return ranges.some((r) => status >= r.min && status <= r.max);
}

function describeRanges(ranges: readonly StatusRange[]): string {
  return ranges.map((r) => (r.min === r.max ? String(r.min) : `${r.min}-${r.max}`)).join(', ');
}

/**
 * HTTP(S) check: one request on a fresh connection per probe (no keep-alive), so every probe
 * also proves the app still accepts connections, and nothing stays open between probes.
 */
export class HttpProbe implements HealthProbe {
  private readonly url: string;
  private readonly hostHeader: string;

  constructor(private readonly options: HttpProbeOptions) {
    const hostPort = `${net.isIPv6(options.address) ? `[${options.address}]` : options.address}:${options.port}`;
    this.hostHeader = options.host ?? hostPort;
    this.url = `${options.scheme}://${hostPort}${options.path}`;
  }

  probe(signal: AbortSignal): Promise<ProbeResult> {
    const { method } = this.options;
    const label = `HTTP ${method} ${this.url}`;
    if (signal.aborted) return Promise.resolve(fail(`${label}: ${abortReason(signal)}`));

    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: ProbeResult): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        req.destroy();
        resolve(result);
      };
      const onAbort = (): void => finish(fail(`${label}: ${abortReason(signal)}`));

      const req = this.request((res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = (): void => {
          const status = res.statusCode ?? 0;
          const body = Buffer.concat(chunks).toString('utf8').trim();
          const line = `${label}: ${status} ${res.statusMessage ?? ''}`.trimEnd();
          const output = body === '' ? line : `${line} Output: ${body}`;
          if (statusExpected(status, this.options.expectedStatuses)) finish(pass(output));
          else finish(fail(`${output} (expected ${describeRanges(this.options.expectedStatuses)})`));
        };
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_BODY_BYTES) chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size));
          size += chunk.length;
          if (size >= MAX_BODY_BYTES) done();
        });
        res.on('end', done);
        // A body cut short still has a status line worth judging.
        res.on('close', done);
      });
      req.on('error', (err) => finish(fail(`${label}: ${describeError(err)}`)));
      signal.addEventListener('abort', onAbort, { once: true });
      req.end();
    });
  }

  close(): void {
    // Nothing is kept between probes.
  }

  private request(onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const o = this.options;
    const headers: http.OutgoingHttpHeaders = {
      'user-agent': USER_AGENT,
      accept: 'text/plain, text/*, */*',
      ...o.headers,
      host: this.hostHeader,
    };
    const common: http.RequestOptions = { host: o.address, port: o.port, method: o.method, path: o.path, headers, agent: false };
    if (o.scheme === 'http') return http.request(common, onResponse);
    // The TLS server name follows the Host header, as a browser would; SNI cannot carry an IP.
    const name = this.hostHeader.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    const tls: https.RequestOptions = { ...common, rejectUnauthorized: !o.tlsSkipVerify, ...(net.isIP(name) === 0 ? { servername: name } : {}) };
    return https.request(tls, onResponse);
  }
}
