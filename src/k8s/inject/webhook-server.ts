import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../../common/clock.js';
import { OutriggerError, asOutriggerError } from '../../common/errors.js';
import { listenError } from '../../common/listen-error.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import type { InjectorConfig } from '../../config/injector-config.js';
import { ClientGoneError, readJsonBody } from '../../http/body.js';
import { drainRequest } from '../../http/drain.js';
import { errorReply, reply, writeReply, type HttpReply } from '../../http/response.js';
import { Router } from '../../http/router.js';
import { parseAdmissionReview, reviewAdmission } from './admission-review.js';
import { loadTls } from './webhook-tls.js';

/**
 * The paths the API server calls. A MutatingWebhookConfiguration cannot select on pod
 * annotations, so opting in takes two webhooks: one whose namespaceSelector matches
 * `outrigger.io/inject=enabled` (every pod there is injected unless it says "false"), and one
 * for the other namespaces (only pods annotated `outrigger.io/inject: "true"`).
 */
export const WEBHOOK_PATHS = {
  namespaceOptIn: '/mutate',
  annotationOptIn: '/mutate/annotated',
  health: '/healthz',
} as const;

/** An AdmissionReview carries one object (a pod is at most ~1.5 MiB in etcd); anything far beyond is not a review. */
export const MAX_REVIEW_BYTES = 6 * 1024 * 1024;
const DRAIN_LIMITS = { maxBytes: 1024 * 1024, maxMs: 5000 };

export interface InjectorServerOptions {
  logger?: Logger;
  clock?: Clock;
}

export interface InjectorAddress {
  url: string;
  port: number;
  /** The PEM certificate served; the CA to trust when it is self-signed. */
  certificate: string;
  selfSigned: boolean;
}

type Route = (req: http.IncomingMessage) => Promise<HttpReply> | HttpReply;

/** The admission webhook: HTTPS, POST /mutate (and /mutate/annotated), GET /healthz. */
export class InjectorServer {
  private server: https.Server | undefined;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly router: Router<Route>;

  constructor(
    private readonly config: InjectorConfig,
    opts: InjectorServerOptions = {},
  ) {
    this.logger = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? systemClock;
    this.router = new Router<Route>()
      .add('POST', WEBHOOK_PATHS.namespaceOptIn, (req) => this.mutate(req, true))
      .add('POST', WEBHOOK_PATHS.annotationOptIn, (req) => this.mutate(req, false))
      .add('GET', WEBHOOK_PATHS.health, () => reply(200, { ok: true }));
  }

  private async mutate(req: http.IncomingMessage, namespaceOptIn: boolean): Promise<HttpReply> {
    const body = await readJsonBody(req, MAX_REVIEW_BYTES);
    if (body === undefined) throw new OutriggerError('invalid_argument', 'body: must be an AdmissionReview (JSON)', 'body');
    const request = parseAdmissionReview(body);
    const review = reviewAdmission(request, this.config, namespaceOptIn);
    const meta = request.object.metadata as { name?: unknown; generateName?: unknown } | undefined;
    const fields = { uid: request.uid, namespace: request.namespace, pod: meta?.name ?? meta?.generateName, path: req.url };
    if (!review.response.allowed) this.logger.info('refused a pod', { ...fields, reason: review.response.status?.message });
    else if (review.response.patch !== undefined) this.logger.info('injected the sidecar', fields);
    else this.logger.debug('left a pod alone', fields);
    for (const warning of review.response.warnings ?? []) this.logger.warn('injected a pod that needs attention', { ...fields, warning });
    return reply(200, review);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const run = async (): Promise<HttpReply> => {
      const m = this.router.match(req.method ?? 'GET', path);
      if (m.kind === 'not_found') throw new OutriggerError('not_found', `no route ${path}: the webhook serves POST ${WEBHOOK_PATHS.namespaceOptIn}, POST ${WEBHOOK_PATHS.annotationOptIn} and GET ${WEBHOOK_PATHS.health}`);
      if (m.kind === 'method_not_allowed') {
        return errorReply(new OutriggerError('method_not_allowed', `${req.method} is not allowed on ${m.pattern}`), { allow: m.allow.join(', ') });
      }
      return m.handler(req);
    };
    run().then(
      (r) => {
        drainRequest(req, this.clock, DRAIN_LIMITS);
        writeReply(res, r);
      },
      (err: unknown) => {
        if (err instanceof ClientGoneError) return;
        const e = asOutriggerError(err);
        if (e.code === 'internal') this.logger.error('webhook request failed', { path, err: e.message });
        drainRequest(req, this.clock, DRAIN_LIMITS);
        writeReply(res, errorReply(e));
      },
    );
  }

  async start(): Promise<InjectorAddress> {
    const tls = await loadTls(this.config, this.logger);
    const server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => this.handle(req, res));
    // The API server gives a webhook 10s at most by default; a stuck client must not hold a socket longer.
    server.requestTimeout = 30_000;
    server.headersTimeout = 15_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(listenError('port', this.config.port, err)));
      server.listen(this.config.port, this.config.bind, resolve);
    });
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    const host = this.config.bind === '0.0.0.0' || this.config.bind === '::' ? '127.0.0.1' : this.config.bind;
    const shown = host.includes(':') ? `[${host}]` : host;
    return { url: `https://${shown}:${port}`, port, certificate: tls.cert, selfSigned: tls.selfSigned };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
