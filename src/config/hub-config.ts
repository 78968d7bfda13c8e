import { z } from 'zod';
import { durationSchema } from '../common/duration.js';
import { LOG_LEVELS } from '../common/logger.js';
import { isDnsLabel, namespaceNameSchema, serviceNameSchema } from '../model/names.js';
import { listenPort } from '../model/port.js';
import { cloudMapConfigSchema } from './cloudmap-config.js';
import { consulConfigSchema } from './consul-config.js';
import { dnsConfigSchema } from './dns-config.js';
import { eurekaConfigSchema } from './eureka-config.js';
import { storeConfigSchema } from './store-config.js';
import { authConfigSchema, limitsConfigSchema, tlsConfigSchema } from './hub-security-config.js';

const share = z.number({ error: 'must be a number from 0 to 1' }).min(0, { error: 'must be a number from 0 to 1' }).max(1, { error: 'must be a number from 0 to 1' });
const positiveInt = (max: number) =>
  z.number({ error: `must be an integer from 1 to ${max}` }).int({ error: `must be an integer from 1 to ${max}` }).min(1, { error: `must be an integer from 1 to ${max}` }).max(max, { error: `must be an integer from 1 to ${max}` });

/** A Kubernetes namespace name: a DNS label. */
const k8sNamespaceSchema = z
  .string({ error: 'must be a Kubernetes namespace name' })
  .refine(isDnsLabel, { error: 'must be a Kubernetes namespace name: a DNS label (lowercase letters, digits or "-", at most 63 characters)' });

/** The hub's configuration, as written in YAML (snake_case); every key has a working default. */
export const hubConfigSchema = z.strictObject({
  bind: z.string({ error: 'must be an IP address to listen on' }).min(1, { error: 'must be an IP address to listen on' }).default('0.0.0.0').describe('Address both listeners bind to'),
  grpc_port: listenPort('Port of the gRPC listener: the registration API, Watch, Session and xDS (ADS)', 15010),
  http_port: listenPort('Port of the HTTP listener: REST API, /health, /ready, /metrics', 15080),
  log_level: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info').describe('Log level (logs are JSON lines on stderr)'),
  default_namespace: namespaceNameSchema.default('default').describe('Namespace for registrations that name none'),
  sweep_interval: durationSchema({ min: 100, max: 60_000 }).default(1000).describe('How often leases are checked (default 1s)'),
  max_instances: positiveInt(10_000_000).default(250_000).describe('Most instances the hub holds; registrations beyond it are refused'),
  self_preservation: z
    .strictObject({
      enabled: z.boolean({ error: 'must be true or false' }).default(true).describe('Pause lease expiry when too many leases would expire at once'),
      max_expiring_share: share.default(0.5).describe('Share (0-1) of leased instances that may expire in one sweep before expiry pauses'),
      min_instances: positiveInt(1_000_000).default(10).describe('Self-preservation engages only with at least this many leased instances'),
      renewal_threshold: share.default(0.85).describe("Pause lease expiry while the renewals seen in the window are below this share (0-1) of those expected (Eureka's rule)"),
      window: durationSchema({ min: 1000, max: 3_600_000 }).default(15_000).describe('Sliding window over which renewals are counted (default 15s)'),
    })
    .prefault({}),
  xds: z
    .strictObject({
      coalesce: durationSchema({ min: 0, max: 10_000 }).default(10).describe('Window in which bursts of changes are coalesced into one push (default 10ms)'),
      max_concurrent_initial: positiveInt(100_000).default(256).describe('First responses built at once when many streams connect together'),
      max_bytes_in_flight: positiveInt(1024 * 1024 * 1024).default(32 * 1024 * 1024).describe('Response bytes written to xDS streams and not yet drained by their connections, past which streams wait their turn'),
    })
    .default({ coalesce: 10, max_concurrent_initial: 256, max_bytes_in_flight: 32 * 1024 * 1024 }),
  dns: dnsConfigSchema(':15053', "the hub's bind address").prefault({}),
  rest: z
    .strictObject({
      max_body_bytes: positiveInt(64 * 1024 * 1024).default(1024 * 1024).describe('Largest accepted request body'),
      live_heartbeat: durationSchema({ min: 100, max: 300_000 }).default(15_000).describe('How often an idle live instance stream (`GET /api/v1/instances/live?watch=true`) sends a comment so proxies keep it open'),
      live_buffer_bytes: positiveInt(256 * 1024 * 1024).default(1024 * 1024).describe('Bytes buffered for a live instance stream whose reader is not keeping up before the stream is ended'),
    })
    .prefault({}),
  data_dir: z.string({ error: 'must be a directory path' }).min(1, { error: 'must be a directory path' }).default('~/.outrigger').describe('Where the hub keeps its files (the tokens file, the bootstrap token); "~/" is the home directory'),
  auth: authConfigSchema.prefault({}),
  cloudmap: cloudMapConfigSchema.prefault({}),
  consul: consulConfigSchema.prefault({}),
  eureka: eurekaConfigSchema.prefault({}),
  tls: tlsConfigSchema.prefault({}),
  limits: limitsConfigSchema.prefault({}),
  store: storeConfigSchema.prefault({}),
  watch_buffer_limit: positiveInt(10_000_000).default(10_000).describe('Changes buffered for one Watch stream that is not reading before it is ended'),
  kubernetes: z
    .strictObject({
      enabled: z.boolean({ error: 'must be true or false' }).default(false).describe('Watch Kubernetes Services and EndpointSlices and register their endpoints (source "kubernetes")'),
      kubeconfig: z.string({ error: 'must be a path to a kubeconfig file, or empty' }).default('').describe("Kubeconfig file; empty: the pod's service account when running in a pod, else KUBECONFIG or ~/.kube/config"),
      namespaces: z
        .array(k8sNamespaceSchema)
        .refine((a) => new Set(a).size === a.length, { error: 'must not name a namespace twice' })
        .default([])
        .describe('Kubernetes namespaces to watch; empty: all namespaces'),
      namespace_suffix: namespaceNameSchema.default('svc.cluster.local').describe('Registry namespace of a Kubernetes namespace ns is ns.<namespace_suffix>'),
      max_backoff: durationSchema({ min: 1000, max: 600_000 }).default(30_000).describe('Longest wait between retries of a failed list or watch (default 30s)'),
    })
    .default({ enabled: false, kubeconfig: '', namespaces: [], namespace_suffix: 'svc.cluster.local', max_backoff: 30_000 }),
  services: z
    .array(
      z.strictObject({
        namespace: namespaceNameSchema,
        name: serviceNameSchema,
        config: z.unknown().optional(),
      }),
    )
    .default([])
    .describe('Service configs to create at start: [{namespace, name, config}]'),
  static_instances: z
    .array(z.record(z.string(), z.unknown()))
    .default([])
    .describe('Instances registered at start with source "static" and no lease: [{id, service, namespace, address, port, ...}] (the registration fields of the gRPC API)'),
});

export type HubConfig = z.output<typeof hubConfigSchema>;
