/**
 * TLS for tests: a CA and certificates made with the code `outrigger certs` uses, written as
 * files; a real Hub on loopback (port 0) serving them; and https and gRPC clients that trust
 * the CA and may present a client certificate.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls, { type PeerCertificate, type TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { systemClock, type Clock } from '../../src/common/clock.js';
import { createLogger, type Logger } from '../../src/common/logger.js';
import { hubConfigSchema } from '../../src/config/hub-config.js';
import { Hub, type HubAddresses } from '../../src/hub/hub.js';
import { writePair, type PairPaths } from '../../src/tls/cert-files.js';
import { createCa, issueCertificate, type CertificatePair, type LeafOptions } from '../../src/tls/local-ca.js';
import { HubCredentials } from '../../src/wire/hub-credentials.js';
import type { SessionRequest, SessionResponse } from '../../src/wire/messages.js';
import { createRegistryClient, type RegistryClient } from '../../src/wire/registry-client.js';
import { Changes } from './wait.js';

export const TLS_WAIT_MS = 15_000;

/** Paths of the written files, and their PEM text. */
export interface Issued extends PairPaths {
  pem: CertificatePair;
}

export interface Pki {
  dir: string;
  ca: Issued;
  /** The hub's serving certificate, for localhost, 127.0.0.1 and ::1. */
  hub: Issued;
  /** A certificate signed by this CA, written as `<name>.pem` and `<name>-key.pem`. */
  issue(name: string, options: Partial<LeafOptions>): Promise<Issued>;
}

export async function makePki(dir = mkdtempSync(path.join(tmpdir(), 'outrigger-tls-'))): Promise<Pki> {
  const caPair = await createCa({ commonName: 'Outrigger test CA', days: 1 });
  const ca = { ...writePair(dir, 'ca', caPair, false), pem: caPair };
  const issue = async (name: string, options: Partial<LeafOptions>): Promise<Issued> => {
    const pair = await issueCertificate(caPair, { commonName: name, usage: 'both', days: 1, ...options });
    return { ...writePair(dir, name, pair, true), pem: pair };
  };
  const hub = await issue('hub', { dns: ['localhost'], ips: ['127.0.0.1', '::1'], usage: 'server' });
  return { dir, ca, hub, issue };
}

export interface TlsHub {
  hub: Hub;
  at: HubAddresses;
  /** The bootstrap admin token. */
  adminToken: string;
  /** Log lines, parsed. */
  logs: Array<Record<string, unknown>>;
  logChanges: Changes;
  stop(): Promise<void>;
}

/** A hub with auth on and the given `tls` and `auth` config (YAML keys), on 127.0.0.1 unless `bind` says otherwise. */
export async function startTlsHub(config: { tls: Record<string, unknown>; auth?: Record<string, unknown>; bind?: string }, clock: Clock = systemClock): Promise<TlsHub> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'outrigger-tls-hub-'));
  const logs: Array<Record<string, unknown>> = [];
  const logChanges = new Changes();
  const logger: Logger = createLogger('info', {}, {
    write(line) {
      logs.push(JSON.parse(line) as Record<string, unknown>);
      logChanges.changed();
    },
  });
  const parsed = hubConfigSchema.parse({ bind: config.bind ?? '127.0.0.1', grpc_port: 0, http_port: 0, dns: { listen: '127.0.0.1:0' }, data_dir: dataDir, tls: config.tls, auth: config.auth ?? {} });
  const hub = new Hub(parsed, { clock, logger });
  const at = await hub.start();
  return {
    hub,
    at,
    adminToken: readFileSync(hub.tokenFiles.bootstrap, 'utf8').trim(),
    logs,
    logChanges,
    stop: () => hub.stop(),
  };
}

export interface HttpsOptions {
  /** PEM of the CA to trust. */
  ca: string;
  /** A client certificate to present. */
  client?: CertificatePair;
  token?: string;
  method?: string;
  body?: unknown;
}

export interface HttpsReply {
  status: number;
  json: any;
  /** The certificate the hub served on this connection. */
  served: PeerCertificate;
}

/** One request on a fresh connection (no keep-alive), so each call makes its own handshake. */
export function httpsCall(base: string, urlPath: string, o: HttpsOptions): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    const req = https.request(
      `${base}${urlPath}`,
      {
        method: o.method ?? 'GET',
        ca: o.ca,
        agent: false,
        ...(o.client !== undefined ? { cert: o.client.cert, key: o.client.key } : {}),
        headers: {
          ...(o.token !== undefined ? { authorization: `Bearer ${o.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        const served = (res.socket as TLSSocket).getPeerCertificate();
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text === '' ? undefined : JSON.parse(text), served }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The certificate a listener serves to a new connection (`host:port`; ALPN h2, as gRPC clients ask). */
export function servedCertificate(hostPort: string, o: { ca: string; client?: CertificatePair }): Promise<PeerCertificate> {
  const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(':')), Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, ca: o.ca, servername: 'localhost', ALPNProtocols: ['h2'], ...(o.client !== undefined ? { cert: o.client.cert, key: o.client.key } : {}) }, () => {
      resolve(socket.getPeerCertificate());
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

/** A registry client over TLS, built as the sidecar builds its own (HubCredentials). */
export function tlsRegistryClient(
  address: string,
  o: { ca: string; client?: PairPaths; token?: string; serverName?: string },
): RegistryClient {
  let tokenFile = '';
  if (o.token !== undefined) {
    tokenFile = path.join(mkdtempSync(path.join(tmpdir(), 'outrigger-token-')), 'token');
    writeFileSync(tokenFile, o.token, { mode: 0o600 });
  }
  const credentials = new HubCredentials({
    tokenFile,
    tls: { caFile: o.ca, certFile: o.client?.cert ?? '', keyFile: o.client?.key ?? '', serverName: o.serverName ?? '' },
    logger: createLogger('silent'),
  });
  // A channel of its own, so a test's new client makes a new connection (and handshake).
  return createRegistryClient(address, credentials.credentials(), { ...credentials.clientOptions, 'grpc.use_local_subchannel_pool': 1 });
}

/** A Session stream whose answers are matched to requests by nonce. */
export class TestSession {
  readonly answers: SessionResponse[] = [];
  error: grpc.ServiceError | undefined;
  private nonce = 0;
  private readonly changes = new Changes();
  readonly call: grpc.ClientDuplexStream<SessionRequest, SessionResponse>;

  constructor(client: RegistryClient) {
    this.call = client.Session();
    this.call.on('data', (res: SessionResponse) => {
      this.answers.push(res);
      this.changes.changed();
    });
    this.call.on('error', (err: grpc.ServiceError) => {
      this.error = err;
      this.changes.end(() => `the session ended: ${grpc.status[err.code]}: ${err.details}`);
    });
    this.call.on('end', () => this.changes.end('the session ended'));
  }

  send(req: Omit<SessionRequest, 'nonce'>): Promise<SessionResponse> {
    const nonce = ++this.nonce;
    this.call.write({ ...req, nonce });
    return this.changes.eventually(`the answer to request ${nonce}`, () => this.answers.find((a) => a.nonce === nonce), TLS_WAIT_MS);
  }

  /** Resolves with the error that ended the stream. */
  failure(): Promise<grpc.ServiceError> {
    return this.changes.eventually('the session to fail', () => this.error, TLS_WAIT_MS);
  }
}
