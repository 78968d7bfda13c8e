/**
 * CONNECT on the forward proxy: to a mesh service, a TCP tunnel to a picked endpoint (the port the
 * client named is ignored: the endpoint's port is the service's); to any other host, a tunnel to
 * the host itself when passthrough is on.
 */
import type { Duplex } from 'node:stream';
import type net from 'node:net';
import type { Logger } from '../common/logger.js';
import type { HttpRouter } from './http-router.js';
import { ProxyError } from './proxy-errors.js';
import { splitAuthority } from './request-target.js';
import type { RetryDeps } from './retry-state.js';
import { sendRawHttpError } from './send-error.js';
import type { TunnelRequest } from './tunnel-request.js';
import { connectToCluster, dial, splice } from './upstream-connect.js';

export async function handleConnect(req: TunnelRequest, client: Duplex, head: Buffer, router: HttpRouter, deps: RetryDeps, logger: Logger, open: Set<net.Socket>): Promise<void> {
  client.on('error', () => undefined);
  const authority = req.url;
  const a = splitAuthority(authority);
  if (a === undefined) {
    sendRawHttpError(client, new ProxyError('unknown_service', `CONNECT target "${authority}" is not host:port`));
    return;
  }
  try {
    const r = router.route({ host: a.host, port: a.port, path: '', authority, absolute: true }, 443);
    const route = r instanceof Promise ? await r : r;
    let upstream: net.Socket;
    let done: (failed: boolean) => void;
    if (route.kind === 'error') throw route.error;
    if (route.kind === 'cluster') {
      const u = await connectToCluster(route.runtime, deps, { sourceIp: req.remoteAddress });
      upstream = u.socket;
      done = u.done;
    } else {
      try {
        upstream = await dial(route.host, route.port, deps.clock);
      } catch (err) {
        throw new ProxyError('upstream_reset', `connect to ${route.host}:${route.port} failed (${err instanceof Error ? err.message : String(err)})`);
      }
      done = () => undefined;
    }
    if (client.destroyed) {
      upstream.destroy();
      done(false);
      return;
    }
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    splice(client as net.Socket, upstream, done, open);
  } catch (err) {
    const error = err instanceof ProxyError ? err : new ProxyError('upstream_reset', String(err));
    logger.debug('CONNECT failed', { target: authority, error: error.message });
    sendRawHttpError(client, error);
  }
}
