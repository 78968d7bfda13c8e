/**
 * WebSocket (and any HTTP/1.1 Upgrade): the request head is re-sent on a fresh TCP connection to
 * a picked endpoint, then bytes flow both ways untouched, the 101 response included. Balanced per
 * connection, like TCP. Connection/Upgrade are kept here: they are what the upgrade is about.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../common/logger.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { ProxyError } from './proxy-errors.js';
import type { RetryDeps } from './retry-state.js';
import { sendRawHttpError } from './send-error.js';
import type { TunnelRequest } from './tunnel-request.js';
import { connectToCluster, dial, splice } from './upstream-connect.js';

const DROP = new Set(['proxy-connection', 'proxy-authorization', 'keep-alive']);

export type UpgradeTarget =
  | { readonly kind: 'cluster'; readonly runtime: ClusterRuntime }
  | { readonly kind: 'passthrough'; readonly host: string; readonly port: number };

export async function proxyUpgrade(req: TunnelRequest, client: Duplex, head: Buffer, target: UpgradeTarget, path: string, deps: RetryDeps, logger: Logger, open: Set<net.Socket>): Promise<void> {
  client.on('error', () => undefined);
  try {
    let upstream: net.Socket;
    let done: (failed: boolean) => void = () => undefined;
    if (target.kind === 'cluster') {
      const u = await connectToCluster(target.runtime, deps, { sourceIp: req.remoteAddress, path });
      upstream = u.socket;
      done = u.done;
    } else {
      try {
        upstream = await dial(target.host, target.port, deps.clock);
      } catch (err) {
        throw new ProxyError('upstream_reset', `connect to ${target.host}:${target.port} failed (${err instanceof Error ? err.message : String(err)})`);
      }
    }
    if (client.destroyed) {
      upstream.destroy();
      done(false);
      return;
    }
    let text = `${req.method} ${path} HTTP/1.1\r\n`;
    const raw = req.rawHeaders;
    let xff: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const lower = raw[i]!.toLowerCase();
      if (DROP.has(lower)) continue;
      if (lower === 'x-forwarded-for') {
        xff = xff === undefined ? raw[i + 1]! : `${xff}, ${raw[i + 1]!}`;
        continue;
      }
      text += `${raw[i]!}: ${raw[i + 1]!}\r\n`;
    }
    const peer = req.remoteAddress;
    if (peer !== undefined) xff = xff === undefined ? peer : `${xff}, ${peer}`;
    if (xff !== undefined) text += `x-forwarded-for: ${xff}\r\n`;
    upstream.write(`${text}\r\n`);
    if (head.length > 0) upstream.write(head);
    splice(client as net.Socket, upstream, done, open);
  } catch (err) {
    const error = err instanceof ProxyError ? err : new ProxyError('upstream_reset', String(err));
    logger.debug('upgrade failed', { error: error.message });
    sendRawHttpError(client, error);
  }
}
