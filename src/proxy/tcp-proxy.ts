/** Raw TCP on a per-upstream local port: balanced per connection. */
import net from 'node:net';
import type { Logger } from '../common/logger.js';
import type { HttpRouter } from './http-router.js';
import { ProxyError } from './proxy-errors.js';
import type { RetryDeps } from './retry-state.js';
import { connectToCluster, splice } from './upstream-connect.js';

export function createTcpProxy(router: HttpRouter, name: string, deps: RetryDeps, logger: Logger, open: Set<net.Socket>): net.Server {
  const metrics = deps.metrics;
  return net.createServer({ noDelay: true, pauseOnConnect: true }, (client) => {
    client.on('error', () => undefined);
    void (async () => {
      const r = router.cluster(name);
      const route = r instanceof Promise ? await r : r;
      if (route.kind === 'error') throw route.error;
      if (route.kind !== 'cluster') throw new ProxyError('unknown_service', `no service named "${name}"`);
      metrics?.tcpConnections.inc({ cluster: name });
      const upstream = await connectToCluster(route.runtime, deps, { sourceIp: client.remoteAddress });
      if (client.destroyed) {
        upstream.socket.destroy();
        upstream.done(false);
        return;
      }
      splice(client, upstream.socket, upstream.done, open);
      client.resume();
    })().catch((err: unknown) => {
      // TCP has no error response: the client sees its connection reset.
      logger.debug('tcp proxy connection failed', { cluster: name, error: String(err) });
      if (err instanceof ProxyError) metrics?.errors.inc({ cluster: name, cause: err.code });
      client.resetAndDestroy();
    });
  });
}
