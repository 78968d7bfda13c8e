import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type client from 'prom-client';
import { OutriggerError, asOutriggerError } from '../common/errors.js';
import { listenError } from '../common/listen-error.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { errorReply, reply, writeReply, type HttpReply } from '../http/response.js';
import { Router } from '../http/router.js';
import { systemClock, type Clock } from '../common/clock.js';
import { dashboardFiles } from '../http/dashboard-files.js';
import { EventStream } from '../http/event-stream.js';

export type TtlStatus = 'pass' | 'warn' | 'fail';

/** `pod`: the app and the sidecar (the pod's readiness); `proxy`: the sidecar can route. */
export type ReadyScope = 'pod' | 'proxy';

/** What the admin API reads and triggers; the sidecar supplies it. */
export interface AdminDeps {
  /** Empty when ready; otherwise why not (each a short sentence). */
  notReadyReasons(scope: ReadyScope): string[];
  clusters(): unknown;
  configDump(): unknown;
  metrics: client.Registry;
  /** For TTL checks: the app reports its own health. Throws when the check is not a TTL check. */
  reportTtl(status: TtlStatus, output: string): void;
  /** Starts the drain: DRAINING at the hub, exit after the drain period. */
  drain(): void;
  /** Deregisters and exits now. */
  quit(): void;
  logger?: Logger;
  /** Paces the dashboard's event stream; the system clock by default. */
  clock?: Clock;
}

/** How often the dashboard's stream sends the clusters again. */
const DASHBOARD_INTERVAL_MS = 1000;
/** A dashboard that reads slower than this many unread bytes is cut off. */
const DASHBOARD_BUFFER_BYTES = 1024 * 1024;

type AdminRoute = (req: http.IncomingMessage, params: Readonly<Record<string, string>>) => Promise<HttpReply> | HttpReply;

/**
 * What the pod network may reach: the kubelet's probes and Prometheus. Everything else changes
 * the sidecar (drain, quit, report health) or reveals the mesh (clusters, config), and answers
 * only to loopback, Linkerd's and Envoy's split, so no other pod can stop or drain this one.
 */
export const PUBLIC_ADMIN_PATHS: ReadonlySet<string> = new Set(['/ready', '/ready/proxy', '/live', '/metrics']);

/** The app's own loopback: the sidecar shares the pod's network namespace with it. */
export function isLoopbackPeer(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

const MAX_OUTPUT_BYTES = 4096;

function readText(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_OUTPUT_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').slice(0, MAX_OUTPUT_BYTES)));
    req.on('error', reject);
  });
}

function readiness(reasons: string[]): HttpReply {
  return reasons.length === 0 ? reply(200, { ready: true }) : reply(503, { ready: false, reasons });
}

/**
 * The sidecar's admin API (Envoy's names where Envoy has one): /ready and /live for
 * Kubernetes probes, /clusters, /config_dump and /metrics to look inside, and the POSTs an app
 * or a Job uses to report health or end the sidecar.
 */
export function createAdminHandler(deps: AdminDeps): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const logger = deps.logger ?? silentLogger;
  const clock = deps.clock ?? systemClock;
  const files = dashboardFiles('sidecar');
  const serve = (name: string): HttpReply => {
    const r = files.reply(name);
    if (r === undefined) throw new OutriggerError('not_found', `no dashboard file ${JSON.stringify(name.slice(0, 100))}; the dashboard is at /ui/`);
    return r;
  };
  // The dashboard: the clusters again every second, as Server-Sent Events, while the page is open.
  const clusterStream = (): HttpReply => ({
    status: 200,
    stream: (res) => {
      const out = new EventStream(res, DASHBOARD_BUFFER_BYTES, () => clock.clearInterval(timer));
      const send = (): void => out.event('clusters', deps.clusters());
      const timer = clock.setInterval(send, DASHBOARD_INTERVAL_MS);
      send();
    },
  });
  const router = new Router<AdminRoute>()
    .add('GET', '/ready', () => readiness(deps.notReadyReasons('pod')))
    .add('GET', '/ready/proxy', () => readiness(deps.notReadyReasons('proxy')))
    .add('GET', '/live', () => reply(200, { live: true }))
    .add('GET', '/clusters', () => reply(200, deps.clusters()))
    .add('GET', '/config_dump', () => reply(200, deps.configDump()))
    .add('GET', '/clusters/stream', clusterStream)
    .add('GET', '/ui', () => serve(''))
    .add('GET', '/ui/{file}', (_req, params) => serve(params.file ?? ''))
    .add('GET', '/ui/vendor/{file}', (_req, params) => serve(`vendor/${params.file ?? ''}`))
    .add('GET', '/metrics', async () => ({
      status: 200,
      text: { body: await deps.metrics.metrics(), contentType: deps.metrics.contentType },
    }))
    .add('POST', '/health/{status}', async (req, params) => {
      const status = params.status;
      if (status !== 'pass' && status !== 'warn' && status !== 'fail') {
        throw new OutriggerError('not_found', `status: must be pass, warn or fail, got ${JSON.stringify(status)}`, 'status');
      }
      deps.reportTtl(status, await readText(req));
      return reply(200, { status });
    })
    .add('POST', '/drain', () => {
      deps.drain();
      return reply(202, { draining: true });
    })
    .add('POST', '/quitquitquit', () => {
      deps.quit();
      return reply(202, { quitting: true });
    });

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const handle = async (): Promise<HttpReply> => {
      const m = router.match(req.method ?? 'GET', path);
      if (m.kind === 'not_found') throw new OutriggerError('not_found', `no admin route ${path}`);
      if (m.kind === 'method_not_allowed') {
        return errorReply(new OutriggerError('method_not_allowed', `${req.method} is not allowed on ${m.pattern}`), { allow: m.allow.join(', ') });
      }
      const peer = req.socket.remoteAddress;
      // The route's pattern, not the raw path: the router forgives a trailing slash, so must this.
      if (!PUBLIC_ADMIN_PATHS.has(m.pattern) && !isLoopbackPeer(peer)) {
        logger.warn('admin: refused a request from outside the pod', { method: req.method, path, peer });
        throw new OutriggerError(
          'permission_denied',
          `${req.method} ${m.pattern} answers only on loopback (127.0.0.1 or ::1), not to ${peer ?? 'an unknown address'}; from the pod network only ${[...PUBLIC_ADMIN_PATHS].join(', ')} are served`,
        );
      }
      return m.handler(req, m.params);
    };
    handle().then(
      (r) => writeReply(res, r),
      (err: unknown) => {
        const e = asOutriggerError(err);
        if (e.code === 'internal') logger.error('admin request failed', { path, err: e.message });
        writeReply(res, errorReply(e));
      },
    );
  };
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

export async function startAdminServer(handler: http.RequestListener, host: string, port: number): Promise<AdminServer> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError('admin_port', port, err)));
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
