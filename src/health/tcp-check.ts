import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import type { TcpCheckConfig } from './check-config.js';
import { abortReason, describeError, fail, pass, type HealthProbe, type ProbeResult } from './probe.js';

export type TcpProbeOptions = Pick<TcpCheckConfig, 'send' | 'expect'> & { address: string; port: number };

/** A reply that has not matched by this size never will in a sane health protocol. */
const MAX_REPLY_CHARS = 64 * 1024;

function describeExpect(expect: string | RegExp): string {
  return typeof expect === 'string' ? JSON.stringify(expect) : `/${expect.source}/`;
}

function matches(reply: string, expect: string | RegExp): boolean {
  return typeof expect === 'string' ? reply.includes(expect) : expect.test(reply);
}

function excerpt(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

/**
 * TCP check: the connection is accepted; optionally, after sending `send`, the reply contains
 * `expect` (a substring, or a RegExp) before the peer closes or the probe times out.
 */
export class TcpProbe implements HealthProbe {
  private readonly label: string;

  constructor(private readonly options: TcpProbeOptions) {
    const host = net.isIPv6(options.address) ? `[${options.address}]` : options.address;
    this.label = `TCP ${host}:${options.port}`;
  }

  probe(signal: AbortSignal): Promise<ProbeResult> {
    const { send, expect } = this.options;
    const label = this.label;
    if (signal.aborted) return Promise.resolve(fail(`${label}: ${abortReason(signal)}`));

    return new Promise((resolve) => {
      let settled = false;
      let reply = '';
      const decoder = new StringDecoder('utf8');
      const socket = net.connect({ host: this.options.address, port: this.options.port });
      const finish = (result: ProbeResult): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        resolve(result);
      };
      const onAbort = (): void => {
        const got = expect !== undefined && reply !== '' ? ` (received ${excerpt(reply)})` : '';
        finish(fail(`${label}: ${abortReason(signal)}${got}`));
      };

      socket.setNoDelay(true);
      socket.once('connect', () => {
        if (expect === undefined) {
          if (send === undefined) finish(pass(`${label}: connected`));
          // Without an expectation, success is the bytes leaving intact.
          else socket.write(send, (err) => finish(err ? fail(`${label}: send failed: ${describeError(err)}`) : pass(`${label}: connected, sent ${send.length} bytes`)));
          return;
        }
        if (send !== undefined) socket.write(send);
      });
      socket.on('data', (chunk: Buffer) => {
        if (expect === undefined) return;
        reply += decoder.write(chunk);
        if (matches(reply, expect)) finish(pass(`${label}: reply matched ${describeExpect(expect)}`));
        else if (reply.length > MAX_REPLY_CHARS) finish(fail(`${label}: ${MAX_REPLY_CHARS} characters received without matching ${describeExpect(expect)}`));
      });
      socket.on('end', () => {
        if (expect === undefined) return;
        reply += decoder.end();
        if (matches(reply, expect)) finish(pass(`${label}: reply matched ${describeExpect(expect)}`));
        else finish(fail(`${label}: connection closed before a reply matched ${describeExpect(expect)}; received ${excerpt(reply)}`));
      });
      socket.on('error', (err) => finish(fail(`${label}: ${describeError(err)}`)));
      socket.on('close', () => finish(fail(`${label}: connection closed`)));
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    // Nothing is kept between probes.
  }
}
