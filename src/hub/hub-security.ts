/**
 * The hub's security wiring from its config: the static tokens (bootstrapped on a first start),
 * the authenticator, the access control every surface uses, and the write and stream limits.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AccessControl } from '../auth/access-control.js';
import { Authenticator, tokenIdentity, type BearerVerifier } from '../auth/authenticator.js';
import { Bindings } from '../auth/bindings.js';
import { bootstrapAdminToken } from '../auth/bootstrap-token.js';
import { sameGrant, type Identity } from '../auth/identity.js';
import { StaticTokens } from '../auth/static-tokens.js';
import { SigV4Verifier, type AccessKey } from '../cloudmap/sigv4-verifier.js';
import type { Clock, TimerHandle } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { HubConfig } from '../config/hub-config.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import { createBearerVerifiers, type HubVerifiers } from './hub-verifiers.js';
import { OpenStreams } from './open-streams.js';
import { WriteLimiter } from './write-limiter.js';

/** `~/x` is x in the home directory; anything else is as given. */
export function expandHome(p: string): string {
  return p === '~' ? os.homedir() : p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p;
}

export interface HubSecurity {
  readonly access: AccessControl;
  /** The static tokens; undefined with auth off. */
  readonly tokens: StaticTokens | undefined;
  readonly writeLimiter: WriteLimiter;
  readonly openStreams: OpenStreams;
  readonly tokensPath: string;
  readonly bootstrapPath: string;
  /** Bootstraps on a first start, loads the tokens and starts watching them. Says whether it bootstrapped. */
  start(): Promise<boolean>;
  close(): void;
}

export function createHubSecurity(config: HubConfig, deps: { clock: Clock; logger: Logger; metrics: HubMetrics }): HubSecurity {
  const { auth, limits } = config;
  const dataDir = expandHome(config.data_dir);
  const tokensPath = auth.tokens_file !== '' ? expandHome(auth.tokens_file) : path.join(dataDir, 'tokens.yaml');
  const bootstrapPath = auth.bootstrap_token_file !== '' ? expandHome(auth.bootstrap_token_file) : path.join(dataDir, 'bootstrap-token');
  const logger = deps.logger.child({ component: 'auth' });
  const tokens = auth.enabled ? new StaticTokens({ path: tokensPath, clock: deps.clock, logger, reloadIntervalMs: auth.reload_interval }) : undefined;
  const anonymous: Identity | undefined = auth.anonymous.enabled
    ? { name: 'anonymous', kind: 'anonymous', role: 'viewer', scopes: auth.anonymous.scopes, reads: auth.anonymous.scopes }
    : undefined;
  const bindings = new Bindings(auth.bindings, config.kubernetes.namespace_suffix);
  // JWT and ServiceAccount token verifiers: filled by start(), before the listeners open.
  const verifiers: BearerVerifier[] = [];
  let hubVerifiers: HubVerifiers | undefined;
  // The Cloud Map API's access keys: their secrets are read by start(), before the listeners open.
  const signatures = new SigV4Verifier(config.cloudmap.region, deps.clock);
  const authenticator = auth.enabled
    ? new Authenticator({
        clock: deps.clock,
        ...(tokens !== undefined ? { tokens } : {}),
        verifiers,
        bindings,
        trustDomain: auth.trust_domain,
        ...(anonymous !== undefined ? { anonymous } : {}),
        signatures,
      })
    : undefined;
  const access = new AccessControl({
    ...(authenticator !== undefined ? { authenticator } : {}),
    logger,
    countRefusal: (api, code) => deps.metrics.authRefusals.inc({ api, code }),
  });
  const writeLimiter = new WriteLimiter(
    deps.clock,
    limits.writes_per_second > 0 ? { requestsPerSecond: limits.writes_per_second, burst: limits.write_burst } : undefined,
    () => deps.metrics.limitRefusals.inc({ limit: 'write_rate' }),
  );
  const openStreams = new OpenStreams(limits.max_streams_per_identity, () => deps.metrics.limitRefusals.inc({ limit: 'streams_per_identity' }));
  /** Why a stream's identity no longer holds: its token is gone or changed, or its credential expired. */
  const lapsed = (identity: Identity): string | undefined => {
    if (identity.expiresAt !== undefined && identity.expiresAt <= deps.clock.now()) {
      return `the credential of ${identity.name} expired at ${new Date(identity.expiresAt).toISOString()}; open the stream again with a fresh one`;
    }
    if (identity.kind !== 'token' || tokens === undefined) return undefined;
    const now = tokens.get(identity.name);
    if (now === undefined) return `token ${identity.name} was revoked`;
    // A new secret, role, scope, read or expiry under the same id: the stream was opened on another grant.
    if (!sameGrant(tokenIdentity(now), identity)) return `token ${identity.name} changed; open the stream again`;
    return undefined;
  };
  let expiryTimer: TimerHandle | undefined;
  let keysTimer: TimerHandle | undefined;
  const endLapsed = (): void => {
    const ended = openStreams.endWhere(lapsed);
    if (ended > 0) logger.info('auth: ended streams whose credential was revoked, changed or expired', { streams: ended });
  };
  return {
    access,
    tokens,
    writeLimiter,
    openStreams,
    tokensPath,
    bootstrapPath,
    async start() {
      if (tokens === undefined) {
        logger.warn('auth is disabled (auth.enabled: false): anyone who reaches the hub may read and change everything');
        return false;
      }
      // Key files first: a bad one fails the start before a first start writes anything.
      hubVerifiers = await createBearerVerifiers(auth, { clock: deps.clock, logger, bindings, resolvePath: expandHome });
      verifiers.push(...hubVerifiers.verifiers);
      let keys = await readAccessKeys(config);
      signatures.setKeys(keys);
      if (config.cloudmap.enabled && signatures.size === 0) logger.info('cloudmap: no access keys (cloudmap.access_keys): every Cloud Map call is refused');
      const bootstrapped = await bootstrapAdminToken(tokensPath, bootstrapPath, deps.clock.now());
      if (bootstrapped) logger.info('auth: first start: wrote a bootstrap admin token, readable only by this user', { path: bootstrapPath, tokens_file: tokensPath });
      tokens.load();
      tokens.watch();
      tokens.onChange(endLapsed);
      expiryTimer = deps.clock.setInterval(endLapsed, auth.reload_interval).unref();
      if (keys.length > 0) {
        // Secret files are read again as often as the tokens file, so a rotated secret needs no restart.
        keysTimer = deps.clock
          .setInterval(() => {
            readAccessKeys(config).then(
              (next) => {
                if (sameSecrets(keys, next)) return;
                keys = next;
                signatures.setKeys(next);
                logger.info('cloudmap: access key secrets reloaded', { keys: next.length });
              },
              (err: unknown) => logger.warn('cloudmap: access key secrets not reloaded; the ones read before stay', { err: (err as Error).message }),
            );
          }, auth.reload_interval)
          .unref();
      }
      return bootstrapped;
    },
    close() {
      tokens?.close();
      deps.clock.clearInterval(expiryTimer);
      deps.clock.clearInterval(keysTimer);
      hubVerifiers?.close();
    },
  };
}

function sameSecrets(a: readonly AccessKey[], b: readonly AccessKey[]): boolean {
  return a.length === b.length && a.every((k, i) => k.secretAccessKey === b[i]!.secretAccessKey);
}

/** The configured Cloud Map access keys with their secrets; a secret file that cannot be used fails the start, naming its key. */
async function readAccessKeys(config: HubConfig): Promise<AccessKey[]> {
  const keys: AccessKey[] = [];
  for (const [i, k] of config.cloudmap.access_keys.entries()) {
    const where = `cloudmap.access_keys[${i}].secret_access_key_file`;
    let secret: string;
    try {
      secret = (await readFile(expandHome(k.secret_access_key_file), 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new OutriggerError('config_invalid', `${where}: cannot read ${k.secret_access_key_file}: ${(err as Error).message}`, where);
    }
    // AWS secret access keys are 40 characters; anything much shorter is a mistake, or guessable.
    if (secret.length < 16 || /\s/.test(secret)) throw new OutriggerError('config_invalid', `${where}: the secret must be at least 16 characters without spaces or line breaks`, where);
    keys.push({ accessKeyId: k.access_key_id, secretAccessKey: secret, role: k.role, scopes: k.scopes, ...(k.reads !== undefined ? { reads: k.reads } : {}) });
  }
  return keys;
}
