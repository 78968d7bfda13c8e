/**
 * One client connection on the raw-socket path: its bytes parsed by llhttp, one exchange answered
 * at a time. Pipelined requests are answered in order: a request parsed while another is being
 * answered waits its turn (and the socket stops being read until it comes). An upgrade (WebSocket)
 * or CONNECT leaves this path with the bytes after its head, to the tunnel handlers; a request
 * llhttp refuses gets 400 (431 for oversized headers) and the connection is closed, as node:http
 * does. An idle connection (no request in flight) is closed after KEEP_ALIVE_TIMEOUT_MS.
 */
import type net from 'node:net';
import type { Deadline, DeadlineQueue } from '../../common/deadline-queue.js';
import { BODY, Http1Parser, isParseFailure, type LlhttpBinding, type MessageHandler, type MessageHead, type ParseFailure } from './llhttp-parser.js';

/** How long a client connection may stay idle, or take to send a request head (node:http's defaults here). */
export const KEEP_ALIVE_TIMEOUT_MS = 60_000;

/** What the connection needs of an exchange. */
export interface DownstreamExchange {
  readonly head: MessageHead;
  readonly isDone: boolean;
  closeAfter: boolean;
  start(): void;
  onRequestBody(chunk: Buffer): void;
  onRequestEnd(trailers: string[]): void;
  /** The rest of the request is unreadable: true when no response was started, so one can be written. */
  onRequestRefused(): boolean;
  onDownstreamClose(): void;
}

/** The listener's side: exchanges for request heads, tunnels for upgrades. */
export interface DownstreamHost {
  readonly binding: LlhttpBinding;
  readonly idle: DeadlineQueue;
  /** A new exchange for a request head (its route may still be on its way). */
  exchange(conn: DownstreamConnection, head: MessageHead): DownstreamExchange;
  /** An upgrade or CONNECT: the socket and the bytes after the head now belong to the tunnel. */
  upgrade(socket: net.Socket, head: MessageHead, rest: Buffer): void;
  /** The connection closed. */
  closed(conn: DownstreamConnection): void;
}

export class DownstreamConnection implements MessageHandler {
  private readonly parser: Http1Parser;
  /** The exchange whose request body is being parsed. */
  private parsing: DownstreamExchange | undefined;
  /** The exchange being answered; the queue holds pipelined ones, in order. */
  private current: DownstreamExchange | undefined;
  private readonly queue: DownstreamExchange[] = [];
  private upgradeHead: MessageHead | undefined;
  private idleDeadline: Deadline | undefined;
  private pauses = 0;
  /** The answer owed once the requests before a refused one are answered. */
  private refusal: string | undefined;
  /** Close after the current exchange (the proxy is stopping). */
  closing = false;

  constructor(
    readonly socket: net.Socket,
    private readonly host: DownstreamHost,
  ) {
    this.parser = new Http1Parser(host.binding, 'request', this);
    // llhttp reads the socket itself when it can (as node:http does); else 'data' events feed it.
    if (!this.parser.consume(socket, this.onExecute)) socket.on('data', this.onData);
    socket.on('error', () => undefined);
    socket.on('close', this.onClose);
    socket.on('end', this.onEnd);
    this.armIdle();
  }

  /** Feeds bytes read before this connection took the socket (the protocol sniffer's). */
  feed(data: Buffer): void {
    this.onData(data);
  }

  get idle(): boolean {
    return this.current === undefined && this.parsing === undefined;
  }

  /** Stop reading the client (backpressure, a request waiting for its connection); counted. */
  pause(): void {
    if (this.pauses++ === 0) this.parser.pause(this.socket);
  }

  resume(): void {
    if (this.pauses > 0 && --this.pauses === 0) this.parser.resume(this.socket);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Close once the current exchange is answered (now, when there is none). */
  closeWhenIdle(): void {
    this.closing = true;
    if (this.idle) this.socket.destroy();
  }

  onHead(head: MessageHead): number {
    this.cancelIdle();
    if (head.upgrade) {
      this.upgradeHead = head;
      return BODY;
    }
    const ex = this.host.exchange(this, head);
    if (this.closing) ex.closeAfter = true;
    this.parsing = ex;
    if (this.current === undefined) {
      this.current = ex;
      ex.start();
    } else {
      this.queue.push(ex);
      // Pipelined: hold further reads until this one's turn comes.
      if (this.queue.length === 1) this.pause();
    }
    return BODY;
  }

  onBody(chunk: Buffer): void {
    this.parsing?.onRequestBody(chunk);
  }

  onComplete(trailers: string[]): void {
    const ex = this.parsing;
    this.parsing = undefined;
    ex?.onRequestEnd(trailers);
  }

  /** The exchange's response is written and its request read: the next one may go. */
  exchangeDone(ex: DownstreamExchange): void {
    if (ex !== this.current || this.socket.destroyed) return;
    this.current = undefined;
    if (ex.closeAfter) {
      // Connection: close (or HTTP/1.0): whatever the client sent after it is not answered.
      for (const rest of this.queue.splice(0)) rest.onDownstreamClose();
      this.refusal = undefined;
      this.socket.end();
      return;
    }
    const next = this.queue.shift();
    if (next !== undefined) {
      this.current = next;
      if (this.queue.length === 0) this.resume();
      next.start();
      return;
    }
    // Stopping, the client done sending, or a refused request owed its 400: close now.
    if (this.closing) this.answerRefusal();
    else if (this.parsing === undefined) this.armIdle();
  }

  private readonly onData = (chunk: Buffer): void => this.parsed(this.parser.execute(chunk), chunk);

  /** After each read llhttp parsed from the socket itself. */
  private readonly onExecute = (r: number | ParseFailure): void => this.parsed(r, undefined);

  /** `chunk`: the bytes just parsed, when this side read them (else the parser has them). */
  private parsed(r: number | ParseFailure, chunk: Buffer | undefined): void {
    if (isParseFailure(r)) {
      this.refuse(r);
      return;
    }
    const head = this.upgradeHead;
    if (head === undefined) return;
    this.upgradeHead = undefined;
    if (!this.idle) {
      // An upgrade pipelined behind an unanswered request: not worth a queue of its own.
      this.socket.destroy();
      return;
    }
    const rest = (chunk ?? this.parser.currentRead()).subarray(r);
    this.detach();
    this.host.upgrade(this.socket, head, rest);
  }

  /**
   * llhttp refused the bytes: nothing more is read. Requests parsed before them are still answered,
   * in order (as node:http runs their handlers); a refused request whose head was already
   * forwarded is abandoned upstream so it never completes there. Then 400 (431 for oversized
   * headers) and the connection closes.
   */
  private refuse(failure: ParseFailure): void {
    this.detach();
    this.refusal = failure.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    const parsing = this.parsing;
    this.parsing = undefined;
    if (parsing !== undefined) {
      if (parsing === this.current) {
        if (!parsing.onRequestRefused()) {
          // Its answer was written or has started: no 400 after it.
          this.refusal = undefined;
          this.closing = true;
          if (parsing.isDone) this.socket.end();
          else this.socket.destroy();
          return;
        }
        this.current = undefined;
      } else {
        this.queue.splice(this.queue.indexOf(parsing), 1);
        parsing.onDownstreamClose();
      }
    }
    this.closing = true;
    if (this.current === undefined) this.answerRefusal();
  }

  private answerRefusal(): void {
    const status = this.refusal;
    this.refusal = undefined;
    if (status === undefined) this.socket.end();
    else this.socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
  }

  /** The socket leaves this connection (a tunnel, or a refusal). */
  private detach(): void {
    this.cancelIdle();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.parser.close();
  }

  private readonly onEnd = (): void => {
    // The client finished sending: a request cut short is refused; an idle connection is closed,
    // a busy one after its answers.
    const failure = this.parser.finish();
    if (failure !== undefined) {
      this.refuse(failure);
      return;
    }
    if (this.idle) this.socket.end();
    else this.closing = true;
  };

  private readonly onClose = (): void => {
    this.cancelIdle();
    this.parser.close();
    const all = [this.current, ...this.queue];
    this.current = undefined;
    this.queue.length = 0;
    for (const ex of all) ex?.onDownstreamClose();
    this.host.closed(this);
  };

  private armIdle(): void {
    if (this.idleDeadline !== undefined) return;
    this.idleDeadline = this.host.idle.add(() => {
      this.idleDeadline = undefined;
      this.socket.destroy();
    });
  }

  private cancelIdle(): void {
    if (this.idleDeadline === undefined) return;
    this.idleDeadline.cancel();
    this.idleDeadline = undefined;
  }
}
