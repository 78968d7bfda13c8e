/**
 * TLS on both of the hub's listeners from `tls.*`: the certificate, key and client CA files are
 * read once at start (a file that cannot be used is a config error naming its key), then polled
 * on the Clock. A change is checked before use and reaches both listeners without touching open
 * connections: the REST listener through `setSecureContext`, the gRPC listener through its
 * certificate provider. Each reload is logged and counted.
 */
import type http from 'node:http';
import https from 'node:https';
import type * as grpc from '@grpc/grpc-js';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { HubConfig } from '../config/hub-config.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import { describeCertificate, type TlsMaterial } from '../tls/tls-material.js';
import { TlsReloader } from '../tls/tls-reloader.js';
import { reloadingServerCredentials } from './grpc-certificate-provider.js';
import { expandHome } from './hub-security.js';

export type ClientAuth = HubConfig['tls']['client_auth'];

export class HubTls {
  readonly clientAuth: ClientAuth;
  private readonly reloader: TlsReloader;
  private readonly logger: Logger;
  private readonly clock: Clock;

  /** Reads the files now; throws `config_invalid` naming the key of a file that cannot be used. */
  constructor(config: HubConfig['tls'], deps: { clock: Clock; logger: Logger; metrics: HubMetrics }) {
    this.clientAuth = config.client_auth;
    this.logger = deps.logger;
    this.clock = deps.clock;
    const expiry = (m: TlsMaterial): void => deps.metrics.tlsCertificateExpiry.set(Date.parse(m.leaf.validTo) / 1000);
    this.reloader = new TlsReloader({
      paths: {
        certFile: expandHome(config.cert_file),
        keyFile: expandHome(config.key_file),
        // The CA bundle matters only when client certificates are asked for.
        caFile: config.client_auth !== 'none' ? expandHome(config.client_ca_file) : '',
      },
      keys: { cert: 'tls.cert_file', key: 'tls.key_file', ca: 'tls.client_ca_file' },
      clock: deps.clock,
      logger: deps.logger,
      intervalMs: config.reload_interval,
      onReload: (result, material) => {
        deps.metrics.tlsReloads.inc({ result });
        if (result === 'ok') expiry(material);
      },
    });
    expiry(this.reloader.current);
  }

  /** One line for logs and the CLI: `on` or `on; client certificates required (mTLS)`. */
  get summary(): string {
    if (this.clientAuth === 'none') return 'on';
    return `on; client certificates ${this.clientAuth === 'require' ? 'required' : 'optional'} (mTLS)`;
  }

  grpcCredentials(): grpc.ServerCredentials {
    return reloadingServerCredentials(this.reloader, this.clientAuth);
  }

  /** An https server on the current material that follows every reload. */
  createRestServer(options: http.ServerOptions, handler: http.RequestListener): https.Server {
    const m = this.reloader.current;
    const server = https.createServer(
      {
        ...options,
        ...context(m),
        requestCert: this.clientAuth !== 'none',
        // `optional`: the handshake lets an unverified certificate through, and it proves nothing.
        rejectUnauthorized: this.clientAuth === 'require',
        // A client that opens a connection and never finishes its handshake is cut off like a slow request.
        handshakeTimeout: options.headersTimeout,
      },
      handler,
    );
    const stop = this.reloader.onChange((next) => server.setSecureContext(context(next)));
    server.once('close', stop);
    return server;
  }

  /** Logs what both listeners serve and starts watching the files. */
  start(): void {
    const m = this.reloader.current;
    this.logger.info(`tls: both listeners serve TLS; client certificates: ${this.clientAuth}`, {
      certificate: describeCertificate(m.leaf),
      not_after: m.leaf.validTo,
      client_auth: this.clientAuth,
      ...(m.ca !== undefined ? { client_cas: m.caCertificates.map(describeCertificate) } : {}),
    });
    if (Date.parse(m.leaf.validTo) <= this.clock.now()) this.logger.warn('tls: the certificate has expired: clients will refuse it', { not_after: m.leaf.validTo });
    this.reloader.start();
  }

  close(): void {
    this.reloader.close();
  }
}

function context(m: TlsMaterial): { cert: Buffer; key: Buffer; ca?: Buffer } {
  return { cert: m.cert, key: m.key, ...(m.ca !== undefined ? { ca: m.ca } : {}) };
}
