/**
 * How a sidecar (or any Outrigger client) presents itself to the hub: a bearer token read from a
 * file, re-read whenever the file changes (Kubernetes rotates projected ServiceAccount tokens in
 * place), sent as `authorization` metadata on every call; and, when configured, TLS with the
 * hub's CA, a client certificate for mTLS, and the name the hub's certificate must carry. The
 * certificate files are read again for each new channel, so rotated ones are picked up.
 */
import { readFileSync, statSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { OutriggerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';

export interface HubTlsOptions {
  /** CA bundle the hub's certificate must chain to; empty: the system's CAs. */
  caFile: string;
  /** Client certificate and key, for mTLS; both or neither. */
  certFile: string;
  keyFile: string;
  /** The name the hub's certificate must carry, when it is not the host in the hub address. */
  serverName: string;
}

export interface HubCredentialsOptions {
  /** File holding the bearer token; empty: none is sent. */
  tokenFile: string;
  /** TLS to the hub; undefined: plaintext. */
  tls?: HubTlsOptions;
  logger: Logger;
}

/** What a gRPC client of the hub is built with: fresh channel credentials, and client options. */
export interface HubConnection {
  credentials(): grpc.ChannelCredentials;
  readonly clientOptions: grpc.ClientOptions;
}

function readOrThrow(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new OutriggerError('config_invalid', `${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, key);
  }
}

export class HubCredentials implements HubConnection {
  readonly clientOptions: grpc.ClientOptions;
  private token: string | undefined;
  private tokenStamp: string | undefined;
  private warnedUnreadable = false;

  constructor(private readonly options: HubCredentialsOptions) {
    const tls = options.tls;
    const interceptors = options.tokenFile === '' ? [] : [this.interceptor];
    this.clientOptions = {
      ...(tls !== undefined && tls.serverName !== '' ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {}),
      interceptors,
    };
    // A token file or certificate that cannot be read is a config error at start, not a silent refusal later.
    if (options.tokenFile !== '') this.readToken(true);
    if (tls !== undefined) this.credentials();
  }

  get usesTls(): boolean {
    return this.options.tls !== undefined;
  }

  get sendsToken(): boolean {
    return this.options.tokenFile !== '';
  }

  credentials(): grpc.ChannelCredentials {
    const tls = this.options.tls;
    if (tls === undefined) return grpc.credentials.createInsecure();
    const ca = tls.caFile !== '' ? readOrThrow(tls.caFile, 'hub_tls.ca_file') : null;
    const key = tls.keyFile !== '' ? readOrThrow(tls.keyFile, 'hub_tls.key_file') : null;
    const cert = tls.certFile !== '' ? readOrThrow(tls.certFile, 'hub_tls.cert_file') : null;
    return grpc.credentials.createSsl(ca, key, cert);
  }

  /** The current token: the file is read again only when its size, mtime or inode changed. */
  currentToken(): string | undefined {
    return this.readToken(false);
  }

  private readonly interceptor: grpc.Interceptor = (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        const token = this.currentToken();
        if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });

  private readToken(atStart: boolean): string | undefined {
    const path = this.options.tokenFile;
    let stamp: string;
    try {
      const s = statSync(path);
      stamp = `${s.size}:${s.mtimeMs}:${s.ino}`;
    } catch (err) {
      return this.unreadable(atStart, (err as NodeJS.ErrnoException).code ?? String(err));
    }
    if (stamp === this.tokenStamp) return this.token;
    let text: string;
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch (err) {
      return this.unreadable(atStart, (err as NodeJS.ErrnoException).code ?? String(err));
    }
    if (text === '') return this.unreadable(atStart, 'the file is empty');
    this.token = text;
    this.tokenStamp = stamp;
    this.warnedUnreadable = false;
    if (!atStart) this.options.logger.info('hub token file changed; the next calls use the new token', { path });
    return this.token;
  }

  private unreadable(atStart: boolean, why: string): string | undefined {
    const message = `hub_token_file: cannot read ${this.options.tokenFile}: ${why}`;
    if (atStart) throw new OutriggerError('config_invalid', message, 'hub_token_file');
    // Keep the last token: a rotation replaces the file, and a moment without it is not a reason to stop.
    if (!this.warnedUnreadable) this.options.logger.error(`${message}; keeping the last token read`, { path: this.options.tokenFile });
    this.warnedUnreadable = true;
    return this.token;
  }
}
