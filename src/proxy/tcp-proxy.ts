/** Raw TCP on a per-upstream local port: balanced per connection. */
import net from 'node:net';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ProxyMetrics } from '../metrics/proxy-metrics.js';
import type { ClusterSet } from './cluster-set.js';
import { connectToCluster, splice } from './upstream-connect.js';
import { ProxyError } from './proxy-errors.js';

export function createTcpProxy(clusters: ClusterSet, name: string, clock: Clock, logger: Logger, metrics: ProxyMetrics | undefined, open: Set<net.Socket>): net.Server {
  return net.createServer({ noDelay: true, pauseOnConnect: true }, (client) => {
    client.on('error', () => undefined);
    void (async () => {
      const r = clusters.resolve(name);
      const runtime = r instanceof Promise ? await r : r;
      if (runtime === undefined) throw new ProxyError('unknown_service', `no service named "${name}"`);
      metrics?.tcpConnections.inc({ cluster: name });
      const upstream = await connectToCluster(runtime, clock, { sourceIp: client.remoteAddress });
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
