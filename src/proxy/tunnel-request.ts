/**
 * The head of a request that becomes a tunnel (CONNECT, an Upgrade), as the tunnel handlers need
 * it: from node:http's IncomingMessage on that path, from llhttp's head on the raw-socket path.
 */
import type { IncomingMessage } from 'node:http';

export interface TunnelRequest {
  readonly method: string;
  /** The request target as received (CONNECT: `host:port`). */
  readonly url: string;
  /** [name, value, ...] as received. */
  readonly rawHeaders: readonly string[];
  readonly remoteAddress: string | undefined;
}

export function tunnelRequestOf(req: IncomingMessage): TunnelRequest {
  return { method: req.method ?? 'GET', url: req.url ?? '', rawHeaders: req.rawHeaders, remoteAddress: req.socket.remoteAddress };
}
