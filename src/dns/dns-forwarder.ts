/**
 * Forwards a query for a name outside every served zone to the configured upstream resolver,
 * as it came (its id and EDNS size kept), over UDP from a socket of its own, so replies are never
 * mixed up between queries. A reply that does not come within the timeout is SERVFAIL to the caller.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Clock } from '../common/clock.js';

export interface DnsForwarderOptions {
  host: string;
  port: number;
  clock: Clock;
  timeoutMs: number;
  /** Forwards in flight at most; beyond it a query is answered SERVFAIL at once. */
  maxInFlight: number;
}

export class DnsForwarder {
  private inFlight = 0;

  constructor(private readonly options: DnsForwarderOptions) {}

  get target(): string {
    return isIP(this.options.host) === 6 ? `[${this.options.host}]:${this.options.port}` : `${this.options.host}:${this.options.port}`;
  }

  /** The upstream's reply, or undefined on timeout, error or overload. */
  forward(query: Buffer): Promise<Buffer | undefined> {
    if (this.inFlight >= this.options.maxInFlight || query.length < 2) return Promise.resolve(undefined);
    this.inFlight++;
    const { host, port, clock, timeoutMs } = this.options;
    const socket = dgram.createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    return new Promise<Buffer | undefined>((resolve) => {
      let done = false;
      const finish = (reply: Buffer | undefined): void => {
        if (done) return;
        done = true;
        this.inFlight--;
        clock.clearTimeout(timer);
        socket.close();
        resolve(reply);
      };
      const timer = clock.setTimeout(() => finish(undefined), timeoutMs);
      socket.on('error', () => finish(undefined));
      socket.on('message', (msg, rinfo) => {
        // Only the upstream's answer to this query: anything else on the socket is ignored.
        if (rinfo.address !== host || rinfo.port !== port || msg.length < 2 || msg.readUInt16BE(0) !== id) return;
        finish(msg);
      });
      socket.send(query, port, host, (err) => {
        if (err) finish(undefined);
      });
    });
  }
}
