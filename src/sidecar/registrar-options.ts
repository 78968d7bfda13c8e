/**
 * The registrar's options, their defaults, and the checks made when it is constructed. Only what
 * the registrar itself depends on is checked here; the registration's fields are the hub's to
 * validate (its answer names the field, and the registrar logs it).
 */
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_BACKOFF, type BackoffOptions } from '../common/backoff.js';
import { systemClock, type Clock } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { isCheckedHealth } from '../model/health.js';
import type { HubConnection } from '../wire/hub-credentials.js';
import type { Registration } from './registrar-registration.js';
import { REGISTRAR_CHANNEL_OPTIONS } from './registrar-session.js';

export interface RegistrarOptions {
  /** host:port of the hubs' gRPC listeners; each attempt takes the next one, round the list. */
  hubs: string[];
  /** What to register, and re-register after every reconnect. */
  registration: Registration;
  heartbeatIntervalMs: number;
  /** A request the hub leaves unanswered this long means the hub is lost. Default 10 s. */
  ackTimeoutMs?: number;
  /** How long drain() and deregister() wait for a hub by default. Default 5 s. */
  confirmTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** Merged over 250 ms initial, 30 s max, doubling, full jitter. */
  backoff?: Partial<BackoffOptions>;
  /** Merged over REGISTRAR_CHANNEL_OPTIONS (keepalive, own subchannel pool). */
  channelOptions?: grpc.ChannelOptions;
  /** Credentials and identity towards the hub (TLS, bearer token); default: plaintext, no token. */
  connection?: HubConnection;
}

export interface ResolvedRegistrarOptions {
  hubs: readonly string[];
  registration: Registration;
  heartbeatIntervalMs: number;
  ackTimeoutMs: number;
  confirmTimeoutMs: number;
  clock: Clock;
  logger: Logger;
  backoff: BackoffOptions;
  channelOptions: grpc.ClientOptions;
  credentials: () => grpc.ChannelCredentials;
}

export const DEFAULT_ACK_TIMEOUT_MS = 10_000;
export const DEFAULT_CONFIRM_TIMEOUT_MS = 5_000;

const invalid = (field: string, message: string): OutriggerError => new OutriggerError('config_invalid', `${field}: ${message}`, field);

function positiveMs(value: number | undefined, field: string, fallback?: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw invalid(field, `must be a positive number of milliseconds, got ${String(value)}`);
  return v;
}

export function resolveRegistrarOptions(options: RegistrarOptions): ResolvedRegistrarOptions {
  const hubs = options.hubs;
  if (!Array.isArray(hubs) || hubs.length === 0) throw invalid('hubs', 'must list at least one hub as host:port');
  hubs.forEach((h, i) => {
    if (typeof h !== 'string' || h.trim() === '') throw invalid(`hubs[${i}]`, 'must be host:port');
  });
  const reg = options.registration;
  // Without a stable id the hub makes one up on every registration, and each reconnect would
  // add an instance instead of replacing it.
  if (typeof reg?.id !== 'string' || reg.id === '') throw invalid('registration.id', 'must be set to a stable id (e.g. the pod UID)');
  if (reg.health !== undefined && !isCheckedHealth(reg.health)) throw invalid('registration.health', 'must be HEALTHY, UNHEALTHY or UNKNOWN');
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
  positiveMs(backoff.initialMs, 'backoff.initialMs');
  positiveMs(backoff.maxMs, 'backoff.maxMs');
  if (!(backoff.multiplier >= 1)) throw invalid('backoff.multiplier', `must be at least 1, got ${backoff.multiplier}`);
  return {
    hubs: [...hubs],
    registration: { ...reg },
    heartbeatIntervalMs: positiveMs(options.heartbeatIntervalMs, 'heartbeatIntervalMs'),
    ackTimeoutMs: positiveMs(options.ackTimeoutMs, 'ackTimeoutMs', DEFAULT_ACK_TIMEOUT_MS),
    confirmTimeoutMs: positiveMs(options.confirmTimeoutMs, 'confirmTimeoutMs', DEFAULT_CONFIRM_TIMEOUT_MS),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
    backoff,
    channelOptions: { ...REGISTRAR_CHANNEL_OPTIONS, ...options.channelOptions, ...options.connection?.clientOptions },
    credentials: options.connection !== undefined ? () => options.connection!.credentials() : () => grpc.credentials.createInsecure(),
  };
}
