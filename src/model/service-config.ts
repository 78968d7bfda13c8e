/**
 * A service's config: Envoy's cluster fields in snake_case, durations in milliseconds, every field
 * with a default. The fields common to every policy are checked here; each policy's own
 * `lb_options` by the policy registry the caller hands in.
 */
import { z } from 'zod';
import { OutriggerError } from '../common/errors.js';
import { parseWith } from './parse-input.js';

export const LB_POLICIES = [
  'round_robin',
  'weighted',
  'least_request',
  'least_connections',
  'consistent_hash',
  'random',
  'peak_ewma',
] as const;
export type LbPolicyName = (typeof LB_POLICIES)[number];

const int = (min: number, max: number) =>
  z.number({ error: `must be an integer from ${min} to ${max}` }).int({ error: `must be an integer from ${min} to ${max}` }).min(min, { error: `must be an integer from ${min} to ${max}` }).max(max, { error: `must be an integer from ${min} to ${max}` });
const ms = (min: number, max: number) => int(min, max);
const percent = () => int(0, 100);

/** Envoy's circuit-breaker thresholds (per cluster); Envoy's defaults except max_retries. */
const circuitBreakers = z.strictObject({
  max_connections: int(1, 1_000_000).default(1024),
  max_pending_requests: int(1, 1_000_000).default(1024),
  max_requests: int(1, 1_000_000).default(1024),
  max_retries: int(0, 1_000_000).default(3),
});

const successRate = z.strictObject({
  minimum_hosts: int(1, 10_000).default(5),
  request_volume: int(1, 1_000_000).default(100),
  stdev_factor: z.number({ error: 'must be a number from 0.1 to 10' }).min(0.1, { error: 'must be a number from 0.1 to 10' }).max(10, { error: 'must be a number from 0.1 to 10' }).default(1.9),
});

/** Envoy's outlier detection fields, durations in milliseconds. */
const outlierDetection = z.strictObject({
  enabled: z.boolean({ error: 'must be true or false' }).default(true),
  consecutive_5xx: int(1, 1000).default(5),
  consecutive_gateway_failure: int(1, 1000).default(5),
  interval_ms: ms(100, 3_600_000).default(10_000),
  base_ejection_time_ms: ms(100, 3_600_000).default(30_000),
  max_ejection_time_ms: ms(100, 86_400_000).default(300_000),
  max_ejection_percent: percent().default(10),
  success_rate: successRate.optional(),
});

export const RETRY_ON = ['connect-failure', 'reset', '5xx', 'gateway-error', 'retriable-status-codes', 'unavailable'] as const;

const retry = z.strictObject({
  num_retries: int(0, 10).default(2),
  retry_on: z.array(z.enum(RETRY_ON, { error: `must be one of ${RETRY_ON.join(', ')}` })).default(['connect-failure', 'reset', 'unavailable']),
  retriable_status_codes: z.array(int(100, 599)).default([503]),
  /** 0: no per-try timeout, only the overall one. */
  per_try_timeout_ms: ms(0, 3_600_000).default(0),
  /** Retries may be at most this share of active requests (Envoy's retry budget)... */
  budget_percent: percent().default(20),
  /** ...but this many concurrent retries are always allowed. */
  min_retry_concurrency: int(0, 10_000).default(3),
});

const zoneAware = z.strictObject({
  enabled: z.boolean({ error: 'must be true or false' }).default(true),
  /** Keep traffic in the local zone while at least this share of its endpoints is healthy. */
  min_healthy_percent: percent().default(70),
});

/** Lease defaults for instances of this service that register without their own. */
const healthCheck = z.strictObject({
  ttl_ms: ms(1000, 86_400_000).default(30_000),
  deregister_critical_after_ms: ms(0, 30 * 86_400_000).default(90_000),
});

/** DNS answers for the service (Cloud Map's DnsConfig.DnsRecords[].TTL): the TTL in seconds. */
const dns = z.strictObject({
  ttl: int(0, 2_147_483_647).default(5),
});

/** Options a policy may take; checked per policy by parseServiceConfig. */
const lbOptions = z.record(z.string(), z.unknown(), { error: 'must be an object' });

export const serviceConfigSchema = z.strictObject({
  lb_policy: z.enum(LB_POLICIES, { error: `must be one of ${LB_POLICIES.join(', ')}` }).default('round_robin'),
  lb_options: lbOptions.default({}),
  circuit_breakers: circuitBreakers.default(() => circuitBreakers.parse({})),
  outlier_detection: outlierDetection.default(() => outlierDetection.parse({})),
  retry: retry.default(() => retry.parse({})),
  /** Overall request timeout; 0 disables it. */
  timeout_ms: ms(0, 3_600_000).default(15_000),
  /** Below this share of healthy endpoints, balance across all of them (Envoy's panic threshold). */
  panic_threshold_percent: percent().default(50),
  zone_aware: zoneAware.default(() => zoneAware.parse({})),
  health_check: healthCheck.default(() => healthCheck.parse({})),
  dns: dns.default(() => dns.parse({})),
});

export type ServiceConfig = z.output<typeof serviceConfigSchema>;
export type ServiceConfigInput = z.input<typeof serviceConfigSchema>;

/**
 * Checks a policy's own `lb_options` and fills in their defaults: the balancers' PolicyRegistry,
 * an instance handed in (as grpc-js keeps its registry), so this layer loads no picker.
 */
export interface LbOptionsParser {
  parse(selection: { lb_policy: string; lb_options: Readonly<Record<string, unknown>> }, prefix?: string): { readonly options: Readonly<Record<string, unknown>> };
}

/** Validates a service config as written by a user; every omitted field takes its default. */
export function parseServiceConfig(input: unknown, policies: LbOptionsParser, prefix = 'config'): ServiceConfig {
  const config = parseWith(serviceConfigSchema, input ?? {}, prefix);
  try {
    const policy = policies.parse(config, prefix);
    return { ...config, lb_options: { ...policy.options } };
  } catch (err) {
    // The same problem a REST or gRPC caller made: reported as their bad argument.
    if (err instanceof OutriggerError) throw new OutriggerError('invalid_argument', err.message, err.field);
    throw err;
  }
}

/** Every default; round_robin, the default policy, takes no options. */
export const DEFAULT_SERVICE_CONFIG: ServiceConfig = serviceConfigSchema.parse({});
