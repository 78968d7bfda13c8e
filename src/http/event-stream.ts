/**
 * One Server-Sent Events response: writes events, and ends itself rather than buffer without
 * bound when its reader leaves more than `bufferBytes` unread (a single large event is always
 * written). `onClose` runs once, however the stream ends.
 */
import type http from 'node:http';

export class EventStream {
  private ended = false;

  constructor(
    private readonly res: http.ServerResponse,
    private readonly bufferBytes: number,
    private readonly onClose: () => void,
  ) {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.on('close', () => this.close());
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Bytes written but not yet taken by the reader. */
  get unread(): number {
    return this.res.writableLength;
  }

  event(name: string, data: unknown, id?: number): void {
    this.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  /** Ends the response (after what is written). */
  end(): void {
    this.close();
    this.res.end();
  }

  private write(text: string): void {
    if (this.ended) return;
    if (this.res.writableLength > this.bufferBytes) {
      this.close();
      this.res.destroy();
      return;
    }
    this.res.write(text);
  }

  private close(): void {
    if (this.ended) return;
    this.ended = true;
    this.onClose();
  }
}
