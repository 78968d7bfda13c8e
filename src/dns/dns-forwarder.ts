/**
 * Forwards a query for a name outside every served zone to the configured upstream resolver,
 * as it came (its id and EDNS size kept), over UDP from a socket of its own, so replies are never
 * mixed up between queries. A query that came over TCP and gets a truncated UDP reply is asked
 * again over TCP, as a stub resolver would, so a TCP client gets the whole answer. A reply that
 * does not come within the timeout is SERVFAIL to the caller.
 */
import dgram from 'node:dgram';
import net, { isIP } from 'node:net';
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

  /** The upstream's reply, or undefined on timeout, error or overload; over TCP too when the query came over TCP and UDP's reply was truncated. */
  async forward(query: Buffer, transport: 'udp' | 'tcp' = 'udp'): Promise<Buffer | undefined> {
    if (this.inFlight >= this.options.maxInFlight || query.length < 2) return undefined;
    this.inFlight++;
    try {
      const reply = await this.overUdp(query);
      const truncated = reply !== undefined && reply.length >= 4 && (reply[2]! & 0x02) !== 0;
      return transport === 'tcp' && truncated ? ((await this.overTcp(query)) ?? reply) : reply;
    } finally {
      this.inFlight--;
    }
  }

  private overTcp(query: Buffer): Promise<Buffer | undefined> {
    const { host, port, clock, timeoutMs } = this.options;
    const id = query.readUInt16BE(0);
    return new Promise<Buffer | undefined>((resolve) => {
      let buffered = Buffer.alloc(0);
      const socket = net.connect({ host, port });
      const finish = answerOnce(clock, timeoutMs, () => socket.destroy(), resolve);
      socket.on('error', () => finish(undefined));
      socket.on('close', () => finish(undefined));
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
        const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        finish(msg.length >= 2 && msg.readUInt16BE(0) === id ? Buffer.from(msg) : undefined);
      });
      const framed = Buffer.alloc(2 + query.length);
      framed.writeUInt16BE(query.length, 0);
      query.copy(framed, 2);
      socket.write(framed);
    });
  }

  private overUdp(query: Buffer): Promise<Buffer | undefined> {
    const { host, port, clock, timeoutMs } = this.options;
    const socket = dgram.createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    return new Promise<Buffer | undefined>((resolve) => {
      const finish = answerOnce(clock, timeoutMs, () => socket.close(), resolve);
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

/**
 * The one way an exchange with the upstream ends: the first reply, error or timeout settles it
 * (undefined but for a reply), closes its socket, and anything after is ignored.
 */
function answerOnce(clock: Clock, timeoutMs: number, close: () => void, resolve: (reply: Buffer | undefined) => void): (reply: Buffer | undefined) => void {
  let done = false;
  const finish = (reply: Buffer | undefined): void => {
    if (done) return;
    done = true;
    clock.clearTimeout(timer);
    close();
    resolve(reply);
  };
  const timer = clock.setTimeout(() => finish(undefined), timeoutMs);
  return finish;
}
