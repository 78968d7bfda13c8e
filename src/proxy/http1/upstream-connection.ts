/**
 * One keep-alive connection to an endpoint on the raw-socket path: a socket and a response
 * parser, serving one exchange at a time. Responses are handed to the exchange as llhttp parses
 * them; the exchange corks the downstream socket around each upstream read, so a head, body and
 * end parsed from one read leave in one write.
 */
import type net from 'node:net';
import type { Deadline } from '../../common/deadline-queue.js';
import { BODY, Http1Parser, NO_BODY, isParseFailure, type LlhttpBinding, type MessageHandler, type MessageHead, type ParseFailure } from './llhttp-parser.js';

export interface UpstreamResponseHandler {
  /** One upstream read is about to be parsed / was parsed (cork and uncork around it). */
  onReadStart(): void;
  onReadEnd(): void;
  /** The final response's head (1xx responses are dropped here). */
  onResponseHead(head: MessageHead): void;
  onResponseBody(chunk: Buffer): void;
  onResponseEnd(trailers: string[]): void;
  /** The connection failed before the response ended. */
  onUpstreamError(err: Error): void;
  /** The request body may flow again after a full write. */
  onUpstreamDrain(): void;
}

export interface ConnectionOwner {
  /** The exchange is over and the connection can serve another. */
  release(conn: UpstreamConnection): void;
  /** The connection is gone. */
  removed(conn: UpstreamConnection): void;
}

export class UpstreamConnection implements MessageHandler {
  private readonly parser: Http1Parser;
  private handler: UpstreamResponseHandler | undefined;
  private headRequest = false;
  private informational = false;
  private requestDone = false;
  private responseDone = false;
  private keepAlive = false;
  private dead = false;
  private lastError: Error | undefined;
  /** The exchange told onReadStart() during the read being parsed (told onReadEnd() after it). */
  private reading: UpstreamResponseHandler | undefined;
  /** While idle in its pool: when it is closed. */
  idleDeadline: Deadline | undefined;

  constructor(
    readonly socket: net.Socket,
    binding: LlhttpBinding,
    private readonly owner: ConnectionOwner,
  ) {
    this.parser = new Http1Parser(binding, 'response', this);
    if (!this.parser.consume(socket, this.onExecute)) socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
  }

  get alive(): boolean {
    return !this.dead && !this.socket.destroyed;
  }

  /** Starts an exchange: the request head and whatever body is already known, in one write. */
  start(handler: UpstreamResponseHandler, head: string, isHead: boolean): void {
    this.handler = handler;
    this.headRequest = isHead;
    this.requestDone = false;
    this.responseDone = false;
    this.socket.cork();
    this.socket.write(head, 'latin1');
  }

  /** Body bytes (already framed by the exchange); false when the socket's buffer is full. */
  write(data: Buffer | string): boolean {
    return this.socket.write(data as Buffer);
  }

  /** Stops reading the endpoint (the client is slower than it). */
  pauseReading(): void {
    this.parser.pause(this.socket);
  }

  resumeReading(): void {
    this.parser.resume(this.socket);
  }

  /** Flushes what start() and write() queued. */
  flush(): void {
    if (this.socket.writableCorked > 0) this.socket.uncork();
  }

  /** The request is fully written. */
  requestEnded(): void {
    this.requestDone = true;
    this.maybeRelease();
  }

  /** Abandons the exchange: the connection cannot be reused (part of a response may follow). */
  abort(): void {
    this.handler = undefined;
    this.destroy();
  }

  readonly destroy = (): void => {
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
  };

  onHead(head: MessageHead): number {
    if (this.handler === undefined) {
      // A response on an idle connection: the peer is not speaking HTTP as expected.
      this.destroy();
      return NO_BODY;
    }
    this.readStart();
    const code = head.statusCode;
    if (code < 200 && code !== 101) {
      // 100 Continue was answered by the proxy itself; other 1xx are not forwarded (as before).
      this.informational = true;
      return BODY;
    }
    this.informational = false;
    this.keepAlive = head.keepAlive;
    if (code === 101) {
      // An upgrade comes through the upgrade handler, never here: do not trust this connection.
      this.fail(new Error('unexpected 101 Switching Protocols'));
      return NO_BODY;
    }
    this.handler?.onResponseHead(head);
    return this.headRequest ? NO_BODY : BODY;
  }

  onBody(chunk: Buffer): void {
    this.readStart();
    this.handler?.onResponseBody(chunk);
  }

  onComplete(trailers: string[]): void {
    if (this.informational) {
      this.informational = false;
      return;
    }
    this.responseDone = true;
    const h = this.handler;
    this.readStart();
    h?.onResponseEnd(trailers);
    this.maybeRelease();
  }

  private maybeRelease(): void {
    if (!this.responseDone || !this.requestDone || this.handler === undefined) return;
    this.handler = undefined;
    if (this.keepAlive && !this.dead && !this.parser.upgraded) this.owner.release(this);
    else this.destroy();
  }

  /** The first callback of a read tells the exchange (it corks its client socket until the read is parsed). */
  private readStart(): void {
    const h = this.handler;
    if (this.reading !== undefined || h === undefined) return;
    this.reading = h;
    h.onReadStart();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.handler === undefined) {
      // Bytes on an idle connection: the peer is not speaking HTTP as expected.
      this.destroy();
      return;
    }
    this.onExecute(this.parser.execute(chunk));
  };

  /** After each read is parsed (llhttp reads the socket itself, or onData fed it). */
  private readonly onExecute = (r: number | ParseFailure): void => {
    if (isParseFailure(r)) this.fail(new Error(`invalid response from the endpoint (${r.code}: ${r.reason})`));
    // Bytes on an idle connection (no exchange before this read either): not HTTP as expected.
    else if (this.reading === undefined && this.handler === undefined) this.destroy();
    const h = this.reading;
    this.reading = undefined;
    h?.onReadEnd();
  };

  private readonly onEnd = (): void => {
    // A body delimited by the close ends here; anything unfinished is a failure.
    const failure = this.parser.finish();
    if (failure !== undefined && this.handler !== undefined && !this.responseDone) this.fail(new Error(`the endpoint closed the connection mid-response (${failure.code})`));
    this.destroy();
  };

  private readonly onError = (err: Error): void => {
    this.lastError = err;
  };

  private readonly onClose = (): void => {
    this.dead = true;
    this.parser.close();
    if (this.handler !== undefined && !this.responseDone) {
      const err = this.lastError ?? Object.assign(new Error('the endpoint closed the connection before a complete response'), { code: 'ECONNRESET' });
      this.fail(err);
    }
    this.owner.removed(this);
  };

  private readonly onDrain = (): void => {
    this.handler?.onUpstreamDrain();
  };

  private fail(err: Error): void {
    const h = this.handler;
    this.handler = undefined;
    this.destroy();
    h?.onUpstreamError(err);
  }
}
