/**
 * The ADS client's options, their defaults, and the checks made when it is constructed.
 */
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_BACKOFF, type BackoffOptions } from '../../common/backoff.js';
import { systemClock, type Clock } from '../../common/clock.js';
import { OutriggerError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import type { NodeMessage } from './ads-client-wire.js';

/** Who this client is, as the hub logs and describes it. */
export interface AdsNodeIdentity {
  /** Unique per sidecar (e.g. the instance id). */
  id: string;
  /** The service the sidecar's app provides, `<service>.<namespace>`. */
  cluster?: string;
  locality?: { region?: string; zone?: string; sub_zone?: string };
}

export interface AdsClientOptions {
  /** host:port of the hubs' gRPC listeners; each new stream goes to the next one, round the list. */
  hubs: readonly string[];
  node: AdsNodeIdentity;
  clock?: Clock;
  logger?: Logger;
  /** Between streams; merged over 250 ms initial, 30 s max, doubling, full jitter. */
  backoff?: Partial<BackoffOptions>;
  /**
   * A cluster subscribed mid-stream that the hub has not sent within this long is reported as
   * not existing (state of the world cannot say "absent" for it any sooner). Default 15 s, as grpc-js.
   */
  doesNotExistTimeoutMs?: number;
  /** delta: incremental xDS, falling back to state of the world on a hub that does not serve it (default); sotw: state of the world only. */
  protocol?: 'delta' | 'sotw';
  /** Merged over ADS_CHANNEL_OPTIONS. */
  channelOptions?: grpc.ChannelOptions;
  /** How to reach the hub: TLS credentials (made anew per stream) and client options such as a token interceptor. Default: plaintext. */
  connection?: AdsConnection;
}

/** Channel credentials, made fresh for each new stream, and options for its client. */
export interface AdsConnection {
  credentials(): grpc.ChannelCredentials;
  readonly clientOptions: grpc.ClientOptions;
}

export interface ResolvedAdsClientOptions {
  hubs: readonly string[];
  node: NodeMessage;
  clock: Clock;
  logger: Logger;
  backoff: BackoffOptions;
  doesNotExistTimeoutMs: number;
  protocol: 'delta' | 'sotw';
  channelOptions: grpc.ClientOptions;
  credentials: () => grpc.ChannelCredentials;
}

export const DEFAULT_DOES_NOT_EXIST_TIMEOUT_MS = 15_000;
export const USER_AGENT = 'outrigger-sidecar';

/**
 * Keepalive pings notice a hub that vanished without closing the connection (the hub permits
 * pings every 5 s). Each stream gets a channel with its own subchannel pool, so our backoff, not
 * a connection shared with other channels, decides when the next hub is tried. Responses carry
 * every subscribed cluster, so they may be larger than grpc-js's 4 MiB default.
 */
export const ADS_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 20_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.use_local_subchannel_pool': 1,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
};

const invalid = (field: string, message: string): OutriggerError => new OutriggerError('config_invalid', `${field}: ${message}`, field);

export function resolveAdsClientOptions(options: AdsClientOptions): ResolvedAdsClientOptions {
  const hubs = options.hubs;
  if (!Array.isArray(hubs) || hubs.length === 0) throw invalid('hubs', 'must list at least one hub as host:port');
  hubs.forEach((h: unknown, i) => {
    if (typeof h !== 'string' || h.trim() === '') throw invalid(`hubs[${i}]`, 'must be host:port');
  });
  const node = options.node;
  if (typeof node?.id !== 'string' || node.id === '') throw invalid('node.id', 'must be a non-empty string');
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
  if (!(backoff.initialMs > 0)) throw invalid('backoff.initialMs', `must be positive, got ${backoff.initialMs}`);
  if (!(backoff.maxMs >= backoff.initialMs)) throw invalid('backoff.maxMs', `must be at least initialMs, got ${backoff.maxMs}`);
  if (!(backoff.multiplier >= 1)) throw invalid('backoff.multiplier', `must be at least 1, got ${backoff.multiplier}`);
  const dne = options.doesNotExistTimeoutMs ?? DEFAULT_DOES_NOT_EXIST_TIMEOUT_MS;
  if (!(dne > 0)) throw invalid('doesNotExistTimeoutMs', `must be positive, got ${dne}`);
  return {
    hubs: [...hubs],
    node: {
      id: node.id,
      cluster: node.cluster ?? '',
      locality: { region: node.locality?.region ?? '', zone: node.locality?.zone ?? '', sub_zone: node.locality?.sub_zone ?? '' },
      user_agent_name: USER_AGENT,
    },
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
    backoff,
    doesNotExistTimeoutMs: dne,
    protocol: options.protocol ?? 'delta',
    channelOptions: { ...ADS_CHANNEL_OPTIONS, ...options.channelOptions, ...options.connection?.clientOptions },
    credentials: options.connection !== undefined ? () => options.connection!.credentials() : () => grpc.credentials.createInsecure(),
  };
}
