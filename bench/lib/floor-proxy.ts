/**
 * The floor of an HTTP/1.1 proxy in Node on this machine: a bench-only forwarder that does the
 * least a proxy must (parse both directions with Node's llhttp, as the sidecar does, keep-alive
 * upstream sockets, round robin) and nothing else: no routing, breakers, outlier detection,
 * timeouts, metrics or header rewriting beyond the head it must write. GET without a body only.
 * Its rate and CPU per request are what Node itself costs; the sidecar's gap to it is Outrigger's.
 *
 *   node dist/bench/lib/floor-proxy.js <listen port> <backend port>...
 */
import { createRequire } from 'node:module';
import net from 'node:net';

interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  consume(handle: unknown): void;
  [slot: number]: unknown;
}
interface ParserClass {
  new (): Parser;
  REQUEST: number;
  RESPONSE: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
  kLenientNone: number;
}
const { HTTPParser, methods } = createRequire(import.meta.url)('_http_common') as { HTTPParser: ParserClass; methods: string[] };

const [listenPort, ...backendPorts] = process.argv.slice(2).map(Number);
const idle: net.Socket[][] = backendPorts.map(() => []);
const handlers = new WeakMap<net.Socket, { onHead(rawHeaders: string[], status: number): void; onBody(b: Buffer): void; onEnd(): void }>();
let next = 0;

function parserOn(socket: net.Socket, type: number): Parser {
  const p = new HTTPParser();
  p.initialize(type, {}, 0, HTTPParser.kLenientNone);
  p[HTTPParser.kOnExecute] = (r: unknown) => {
    if (r instanceof Error) socket.destroy();
  };
  p.consume((socket as unknown as { _handle: unknown })._handle);
  return p;
}

function upstream(i: number): net.Socket {
  const s = net.connect({ port: backendPorts[i]!, host: '127.0.0.1', noDelay: true });
  const p = parserOn(s, HTTPParser.RESPONSE);
  p[HTTPParser.kOnHeadersComplete] = (_ma: number, _mi: number, headers: string[], _m: unknown, _u: unknown, status: number) => handlers.get(s)?.onHead(headers, status);
  p[HTTPParser.kOnBody] = (b: Buffer) => handlers.get(s)?.onBody(b);
  p[HTTPParser.kOnMessageComplete] = () => {
    const h = handlers.get(s);
    handlers.delete(s);
    idle[i]!.push(s);
    h?.onEnd();
  };
  s.on('error', () => undefined);
  return s;
}

net
  .createServer({ noDelay: true }, (down) => {
    const p = parserOn(down, HTTPParser.REQUEST);
    down.on('error', () => undefined);
    p[HTTPParser.kOnHeadersComplete] = (_ma: number, _mi: number, headers: string[], method: number, url: string) => {
      const i = next++ % backendPorts.length;
      const up = idle[i]!.pop() ?? upstream(i);
      let head = `${methods[method]!} ${url} HTTP/1.1\r\n`;
      for (let h = 0; h < headers.length; h += 2) head += `${headers[h]!}: ${headers[h + 1]!}\r\n`;
      handlers.set(up, {
        onHead: (raw, status) => {
          let out = `HTTP/1.1 ${status} OK\r\n`;
          for (let h = 0; h < raw.length; h += 2) if (raw[h]!.toLowerCase() !== 'connection') out += `${raw[h]!}: ${raw[h + 1]!}\r\n`;
          down.cork();
          down.write(`${out}\r\n`, 'latin1');
        },
        onBody: (b) => down.write(b),
        onEnd: () => down.uncork(),
      });
      up.write(`${head}\r\n`, 'latin1');
      return 0;
    };
  })
  .listen(listenPort, '127.0.0.1', () => process.stdout.write(`floor proxy listening on ${listenPort}\n`));
