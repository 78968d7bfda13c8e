/**
 * HTTP/1.1 framing parsed by llhttp through Node's own binding: the parser node:http uses, with
 * the same strict settings, so the raw-socket path accepts and refuses exactly what node:http
 * does (both Content-Length and Transfer-Encoding, obs-fold, bad chunk sizes, bare LF...).
 *
 * The binding (`HTTPParser` of `_http_common`) is internal API, so this is the one module that
 * touches it: `loadLlhttp()` finds it and runs a self-test on known messages at start-up; when it
 * is missing or misbehaves the caller falls back to the node:http + undici path, with a warning.
 */
import { createRequire } from 'node:module';
import type net from 'node:net';

/** What llhttp reports for one message head. */
export interface MessageHead {
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** [name, value, name, value, ...] as received. */
  readonly rawHeaders: string[];
  /** Requests: the method name; '' for responses. */
  readonly method: string;
  /** Requests: the request target as received; '' for responses. */
  readonly url: string;
  /** Responses: the status code; 0 for requests. */
  readonly statusCode: number;
  readonly statusMessage: string;
  /** A request with Upgrade (and Connection: upgrade), or CONNECT. */
  readonly upgrade: boolean;
  readonly keepAlive: boolean;
}

/** Returned by onHead: parse a body as framed, none (a response to HEAD, 204/304 are known), or none and stop (upgrade). */
export const BODY = 0;
export const NO_BODY = 1;

export interface MessageHandler {
  onHead(head: MessageHead): number;
  /** A piece of the body, de-chunked. */
  onBody(chunk: Buffer): void;
  /** The message ended; trailers (chunked bodies only) as a flat list, usually empty. */
  onComplete(trailers: string[]): void;
}

/** A parse failure: llhttp's error code (`HPE_INVALID_TRANSFER_ENCODING`...) and reason. */
export interface ParseFailure {
  readonly code: string;
  readonly reason: string;
  readonly bytesParsed: number;
}

interface BindingParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error | undefined;
  finish(): number | Error | undefined;
  close(): void;
  free(): void;
  consume?(handle: StreamHandle): void;
  unconsume?(): void;
  getCurrentBuffer?(): Buffer;
  [slot: number]: unknown;
}

/** The native side of a net.Socket (TCPWrap), as node:http's server and client use it. */
interface StreamHandle {
  readonly isStreamBase?: boolean;
  _consumed?: boolean;
  reading?: boolean;
  readStart(): number;
  readStop(): number;
}

interface BindingConstructor {
  new (): BindingParser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kOnExecute: number;
  readonly kLenientNone: number;
}

export interface LlhttpBinding {
  readonly HTTPParser: BindingConstructor;
  readonly methods: readonly string[];
}

const NO_HEADERS: string[] = [];

/** One parser, kept for a connection's whole life (one message after another). */
const BAD_VERSION: ParseFailure = { code: 'HPE_INVALID_VERSION', reason: 'only HTTP/1.0 and HTTP/1.1 are served', bytesParsed: 0 };

export class Http1Parser {
  private readonly parser: BindingParser;
  /** Headers (or trailers) llhttp flushed before the head was complete, and the URL so far. */
  private flushed: string[] = NO_HEADERS;
  private flushedUrl = '';
  private inBody = false;
  private closed = false;
  /** The message's version was not HTTP/1.x. */
  private badVersion = false;
  /** The socket handle llhttp reads itself (consume()), if it does. */
  private handle: StreamHandle | undefined;
  /** Set while the current message is an upgrade (CONNECT, Upgrade): parsing stops after its head. */
  upgraded = false;

  constructor(
    private readonly binding: LlhttpBinding,
    kind: 'request' | 'response',
    private readonly handler: MessageHandler,
  ) {
    const P = binding.HTTPParser;
    const parser = new P();
    parser.initialize(kind === 'request' ? P.REQUEST : P.RESPONSE, {}, 0, P.kLenientNone);
    parser[P.kOnHeaders] = (headers: string[], url: string) => {
      this.flushed = this.flushed === NO_HEADERS ? headers : this.flushed.concat(headers);
      if (url) this.flushedUrl += url;
    };
    parser[P.kOnHeadersComplete] = (
      versionMajor: number,
      versionMinor: number,
      headers: string[] | undefined,
      method: number | undefined,
      url: string | undefined,
      statusCode: number | undefined,
      statusMessage: string | undefined,
      upgrade: boolean,
      keepAlive: boolean,
    ): number => {
      // llhttp reads a request line without a version as HTTP/0.9: whatever follows the target on
      // later lines would be forwarded as headers. Only HTTP/1.x is spoken here (node:http's
      // handlers refuse the others too): -1 makes llhttp stop with an error.
      if (versionMajor !== 1) {
        this.badVersion = true;
        return -1;
      }
      const rawHeaders = headers ?? this.flushed;
      const target = url ?? this.flushedUrl;
      this.flushed = NO_HEADERS;
      this.flushedUrl = '';
      this.inBody = true;
      this.upgraded = upgrade;
      return this.handler.onHead({
        versionMajor,
        versionMinor,
        rawHeaders,
        method: method === undefined ? '' : (this.binding.methods[method] ?? ''),
        url: target,
        statusCode: statusCode ?? 0,
        statusMessage: statusMessage ?? '',
        upgrade,
        keepAlive,
      });
    };
    parser[P.kOnBody] = (chunk: Buffer) => this.handler.onBody(chunk);
    parser[P.kOnMessageComplete] = () => {
      // Headers flushed after the body are trailers.
      const trailers = this.inBody ? this.flushed : NO_HEADERS;
      this.flushed = NO_HEADERS;
      this.flushedUrl = ''; // llhttp repeats the URL with flushed trailers
      this.inBody = false;
      this.handler.onComplete(trailers);
    };
    this.parser = parser;
  }

  /**
   * Parses bytes; returns how many were consumed (less than given only after an upgrade's head:
   * the rest belongs to the tunnel), or the failure.
   */
  execute(data: Buffer): number | ParseFailure {
    return this.outcome(this.parser.execute(data), data.length);
  }

  /** What one execute() (called here, or by llhttp on a consumed socket) came to. */
  private outcome(r: number | Error | undefined, whole: number): number | ParseFailure {
    // After an upgrade's head llhttp pauses whatever the callback returned: the flag tells.
    if (this.badVersion) return BAD_VERSION;
    if (typeof r === 'number') return r;
    if (r === undefined) return whole;
    return failureOf(r);
  }

  /** The peer closed: ends a body delimited by the connection's close, or fails an unfinished message. */
  finish(): ParseFailure | undefined {
    const r = this.parser.finish();
    return r instanceof Error ? failureOf(r) : undefined;
  }

  /**
   * Lets llhttp read the socket itself, as node:http does: each read is parsed in C++ straight
   * from a buffer the binding reuses, with no Buffer, stream event or execute() call per read;
   * `onExecute` follows every read with what execute() would have returned. The socket's end and
   * errors still come as its events. False when this socket cannot be consumed (then feed
   * execute() from 'data' events).
   */
  consume(socket: net.Socket, onExecute: (result: number | ParseFailure) => void): boolean {
    const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
    const parser = this.parser;
    if (handle?.isStreamBase !== true || handle._consumed === true || typeof parser.consume !== 'function' || socket.readableLength > 0) return false;
    parser[this.binding.HTTPParser.kOnExecute] = (r: number | Error | undefined): void => onExecute(this.outcome(r, 0));
    parser.consume(handle);
    handle._consumed = true;
    this.handle = handle;
    return true;
  }

  /** The bytes of the read being parsed (a copy: for an upgrade's rest), inside onExecute only. */
  currentRead(): Buffer {
    return this.parser.getCurrentBuffer?.() ?? Buffer.alloc(0);
  }

  /** The socket goes back to its own stream: reads come as 'data' again (a tunnel takes it). */
  private unconsume(): void {
    const handle = this.handle;
    if (handle === undefined) return;
    this.handle = undefined;
    this.parser.unconsume?.();
    handle._consumed = false;
    // Reads stopped by pause() start again: the stream's own flow control takes over.
    if (handle.reading !== true) {
      handle.reading = true;
      handle.readStart();
    }
  }

  /** Stops reading the socket (backpressure; a pipelined request waiting its turn). */
  pause(socket: net.Socket): void {
    if (this.handle === undefined) {
      socket.pause();
      return;
    }
    // Not Readable.pause(): the stream never sees these reads, so only the handle can stop them.
    const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
    if (handle === this.handle && handle.reading === true) {
      handle.reading = false;
      handle.readStop();
    }
  }

  resume(socket: net.Socket): void {
    if (this.handle === undefined) {
      socket.resume();
      return;
    }
    const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
    if (handle === this.handle && handle.reading !== true) {
      handle.reading = true;
      handle.readStart();
    }
  }

  /**
   * Releases the native parser (a consumed socket is given back at once). Deferred a turn: a
   * connection may end inside one of the parser's own callbacks, and the native object must
   * outlive that execute().
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unconsume();
    setImmediate(closeParser, this.parser);
  }
}

function closeParser(parser: BindingParser): void {
  parser.free();
  parser.close();
}

function failureOf(err: Error): ParseFailure {
  const e = err as Error & { code?: unknown; reason?: unknown; bytesParsed?: unknown };
  return { code: String(e.code ?? 'HPE_UNKNOWN'), reason: String(e.reason ?? e.message), bytesParsed: Number(e.bytesParsed ?? 0) };
}

export function isParseFailure(r: number | ParseFailure): r is ParseFailure {
  return typeof r !== 'number';
}

/** The binding, self-tested; or why the raw-socket path cannot be used. */
export type LlhttpLoad = { readonly ok: true; readonly binding: LlhttpBinding } | { readonly ok: false; readonly reason: string };

let loaded: LlhttpLoad | undefined;

/** Finds Node's llhttp binding and self-tests it, once per process. */
export function loadLlhttp(): LlhttpLoad {
  loaded ??= tryLoad(() => createRequire(import.meta.url)('_http_common') as Partial<LlhttpBinding>);
  return loaded;
}

/** Loads from a given source and self-tests (exported for the fallback's tests). */
export function tryLoad(source: () => Partial<LlhttpBinding> | undefined): LlhttpLoad {
  let binding: Partial<LlhttpBinding> | undefined;
  try {
    binding = source();
  } catch (err) {
    return { ok: false, reason: `Node's HTTP parser binding cannot be loaded (${err instanceof Error ? err.message : String(err)})` };
  }
  if (typeof binding?.HTTPParser !== 'function' || !Array.isArray(binding.methods)) {
    return { ok: false, reason: "Node's HTTP parser binding (_http_common.HTTPParser) is missing" };
  }
  try {
    const problem = selfTest(binding as LlhttpBinding);
    return problem === undefined ? { ok: true, binding: binding as LlhttpBinding } : { ok: false, reason: `Node's HTTP parser binding failed its self-test: ${problem}` };
  } catch (err) {
    return { ok: false, reason: `Node's HTTP parser binding failed its self-test: ${err instanceof Error ? err.message : String(err)}` };
  }
}

interface Seen {
  heads: MessageHead[];
  bodies: string[];
  trailers: string[][];
}

function parseAll(binding: LlhttpBinding, kind: 'request' | 'response', text: string): { seen: Seen; result: number | ParseFailure } {
  const seen: Seen = { heads: [], bodies: [], trailers: [] };
  const parser = new Http1Parser(binding, kind, {
    onHead: (h) => {
      seen.heads.push(h);
      seen.bodies.push('');
      return BODY;
    },
    onBody: (c) => {
      seen.bodies[seen.bodies.length - 1] += c.toString('latin1');
    },
    onComplete: (t) => void seen.trailers.push(t),
  });
  try {
    return { seen, result: parser.execute(Buffer.from(text, 'latin1')) };
  } finally {
    parser.close();
  }
}

/** Known messages with known answers: the callbacks, their arguments and the refusals this path relies on. */
function selfTest(binding: LlhttpBinding): string | undefined {
  const req = parseAll(
    binding,
    'request',
    'POST /a?b=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\nGET /next HTTP/1.1\r\nHost: y\r\nContent-Length: 2\r\n\r\nhi',
  );
  const [first, second] = req.seen.heads;
  if (isParseFailure(req.result)) return `a valid request was refused (${req.result.code})`;
  if (first?.method !== 'POST' || first.url !== '/a?b=1' || first.rawHeaders.join('|') !== 'Host|x|Transfer-Encoding|chunked') return 'the first request head was misread';
  if (second?.method !== 'GET' || second.url !== '/next' || second.rawHeaders.join('|') !== 'Host|y|Content-Length|2') return 'a pipelined request head was misread';
  if (req.seen.bodies.join('|') !== 'abc|hi') return 'request bodies were misread';
  if (req.seen.trailers[0]?.join('|') !== 'X-T|1') return 'trailers were misread';
  const res = parseAll(binding, 'response', 'HTTP/1.1 404 Not Here\r\nContent-Length: 1\r\n\r\nz');
  const head = res.seen.heads[0];
  if (isParseFailure(res.result) || head?.statusCode !== 404 || head.statusMessage !== 'Not Here' || res.seen.bodies[0] !== 'z') return 'a response was misread';
  const smuggled = parseAll(binding, 'request', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  if (!isParseFailure(smuggled.result)) return 'a request with both Content-Length and Transfer-Encoding was accepted';
  return undefined;
}
