import type http from 'node:http';
import type { Clock } from '../common/clock.js';

export interface DrainLimits {
  /** Most bytes discarded before the connection is cut. */
  maxBytes: number;
  /** Longest wait for the rest of the body before the connection is cut. */
  maxMs: number;
}

/**
 * Discards the unread rest of a request body we answered without reading (413, 415, 429, ...).
 *
 * Closing at once would be simpler, but a close with unread data makes the kernel send a reset,
 * and a client still uploading then sees "EPIPE"/"connection reset" instead of our answer. So we
 * linger like nginx and Apache do: throw the bytes away as they come (never keeping them), and
 * cut the connection only when the client sends more than maxBytes or takes longer than maxMs.
 * A client that sends what it declared keeps its keep-alive connection.
 *
 * Call this before writing the response: once the response finishes, Node would start its own
 * unbounded discard of the body.
 */
export function drainRequest(req: http.IncomingMessage, clock: Clock, limits: DrainLimits): void {
  if (req.complete) return;
  let discarded = 0;
  const cut = (): void => {
    cleanup();
    req.socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > limits.maxBytes) cut();
  };
  const timer = clock.setTimeout(() => {
    if (!req.complete) cut();
  }, limits.maxMs).unref();
  const cleanup = (): void => {
    clock.clearTimeout(timer);
    req.off('data', onData);
    req.off('end', cleanup);
    req.off('close', cleanup);
  };
  req.on('data', onData);
  req.on('end', cleanup);
  req.on('close', cleanup);
  req.resume();
}
