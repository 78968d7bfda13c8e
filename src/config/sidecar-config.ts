import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { z } from 'zod';
import { durationSchema } from '../common/duration.js';
// From common/, not hub-config: importing the hub's schema would build every dialect's schemas in each sidecar.
import { LOG_LEVELS } from '../common/logger.js';
import { parseHealthCheck, type HealthCheckConfig } from '../health/check-config.js';
import { isDnsName, isHostname, namespaceNameSchema, serviceNameSchema } from '../model/names.js';
import { parseWith } from '../model/parse-input.js';
import { anyListenPort, listenPort, portSchema } from '../model/port.js';
import { protocolSchema } from '../model/protocol.js';
import { LB_POLICIES } from '../model/service-config.js';
import { instanceIdSchema, metadataSchema } from '../registry/validation.js';
import { dnsConfigSchema } from './dns-config.js';

/** `cache_file: off` turns the peer cache off (an empty value means the default file). */
export const CACHE_OFF = 'off';

const address = z
  .string({ error: 'must be an IP address or a hostname' })
  .refine((a) => isIP(a) !== 0 || isHostname(a), { error: 'must be an IP address or a hostname' });

const hubAddress = z
  .string({ error: 'must be host:port' })
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'must be host:port, e.g. 127.0.0.1:15010 or [::1]:15010' });

/** `worker.secure-api.local`, or a short name resolved in the sidecar's own namespace. */
const upstreamService = z
  .string({ error: 'must be <service>.<namespace> or a service name in this namespace' })
  .refine(isDnsName, {
    error: 'must be <service>.<namespace> (DNS labels) or a service name in this namespace',
  });

export const upstreamSchema = z.strictObject({
  service: upstreamService,
  /** Consul Connect's way: the app calls 127.0.0.1:<local_port> and the sidecar balances; 0 binds a free port (printed at start, and in /clusters). */
  local_port: anyListenPort.optional(),
  protocol: protocolSchema.optional(),
  lb_policy: z.enum(LB_POLICIES, { error: `must be one of ${LB_POLICIES.join(', ')}` }).optional(),
  lb_options: z.record(z.string(), z.unknown(), { error: 'must be an object' }).optional(),
  timeout: durationSchema({ min: 0, max: 3_600_000 }).optional(),
});

export type UpstreamConfig = z.output<typeof upstreamSchema>;

/** The sidecar's configuration, as written in YAML (snake_case). */
export const sidecarConfigSchema = z.strictObject({
  service: serviceNameSchema.describe('Name of the service this sidecar\'s app provides (required)'),
  namespace: namespaceNameSchema.optional().describe('Namespace of the service; default: POD_NAMESPACE on Kubernetes, else "default"'),
  instance_id: instanceIdSchema.optional().describe('Stable instance id; default: the pod UID (POD_UID), else <hostname>-<app port>'),
  app: z
    .strictObject({
      address: address.default('127.0.0.1').describe('Where the sidecar reaches its app for health checks'),
      port: portSchema.describe('The app\'s port (required)'),
      protocol: protocolSchema.default('http').describe('The app\'s protocol'),
    })
    .describe('The app this sidecar runs beside'),
  advertise_address: address.optional().describe('Address peers use to reach the app; default POD_IP, else app.address'),
  version: z.string().max(64).default('').describe('Version label of this instance'),
  zone: z.string().max(64).default('').describe('Zone of this instance (zone-aware routing prefers the local zone)'),
  region: z.string().max(64).default('').describe('Region of this instance'),
  weight: z
    .number({ error: 'must be an integer from 1 to 1000' })
    .int({ error: 'must be an integer from 1 to 1000' })
    .min(1, { error: 'must be an integer from 1 to 1000' })
    .max(1000, { error: 'must be an integer from 1 to 1000' })
    .default(100)
    .describe('Load-balancing weight, 1-1000'),
  metadata: metadataSchema.default({}).describe('String labels registered with the instance'),
  health_check: z.unknown().optional().describe('Active health check of the app: {type: http|tcp|grpc|exec|ttl, ...} (see the README); default: a TCP connect to app.port'),
  upstreams: z.array(upstreamSchema).default([]).describe('Services the app calls: [{service, local_port?, protocol?, lb_policy?, lb_options?, timeout?}]'),
  hubs: z.array(hubAddress).min(1, { error: 'must list at least one hub as host:port' }).default(['127.0.0.1:15010']).describe('Hub gRPC addresses, tried in turn on fail-over'),
  hub_token_file: z
    .string({ error: 'must be a path to a file holding the token, or empty' })
    .default('')
    .describe("File holding the bearer token presented to the hub, re-read when it changes (the injector mounts a projected ServiceAccount token); empty: none"),
  hub_tls: z
    .strictObject({
      enabled: z.boolean({ error: 'must be true or false' }).default(false).describe('Talk to the hub over TLS'),
      ca_file: z.string({ error: 'must be a path, or empty' }).default('').describe("CA bundle the hub's certificate must chain to; empty: the system's CAs"),
      cert_file: z.string({ error: 'must be a path, or empty' }).default('').describe('Client certificate presented to the hub (mTLS)'),
      key_file: z.string({ error: 'must be a path, or empty' }).default('').describe('Private key of hub_tls.cert_file'),
      server_name: z.string({ error: 'must be a host name, or empty' }).default('').describe("Name the hub's certificate must carry; empty: the host of each hub address"),
    })
    .superRefine((t, ctx) => {
      if ((t.cert_file === '') !== (t.key_file === '')) ctx.addIssue({ code: 'custom', path: [t.cert_file === '' ? 'cert_file' : 'key_file'], message: 'set hub_tls.cert_file and hub_tls.key_file together' });
      const given = t.ca_file !== '' || t.cert_file !== '' || t.server_name !== '';
      if (given && !t.enabled) ctx.addIssue({ code: 'custom', path: ['enabled'], message: 'must be true when other hub_tls keys are set' });
    })
    .prefault({}),
  outbound_bind: z.string().default('127.0.0.1').describe('Address of the outbound proxy listener'),
  outbound_port: listenPort('Port of the outbound proxy (HTTP_PROXY target)', 15001),
  passthrough: z.boolean({ error: 'must be true or false' }).default(true).describe('Forward requests for hosts outside the mesh to the real host (false: 502 with a reason)'),
  http1_engine: z
    .enum(['llhttp', 'node'], { error: 'must be llhttp (raw sockets, the default) or node (node:http and undici)' })
    .default('llhttp')
    .describe('How the proxy serves HTTP/1.1: llhttp (raw sockets; falls back to node with a warning when it cannot run) or node (node:http and undici)'),
  dns: dnsConfigSchema('127.0.0.1:15053', '127.0.0.1')
    .extend({
      zones: z
        .array(namespaceNameSchema)
        .default([])
        .describe("Namespaces answered besides the sidecar's own, its upstreams' and those of clusters it has learnt"),
      lookup_timeout: durationSchema({ min: 10, max: 30_000 }).default(1000).describe('How long a query for a service the sidecar does not hold yet waits for the hub (default 1s)'),
    })
    .prefault({}),
  admin_bind: z.string().default('0.0.0.0').describe('Address of the admin listener (probes reach it from the kubelet)'),
  admin_port: listenPort('Port of the admin API: /ready, /live, /clusters, /config_dump, /metrics', 15000),
  ttl: durationSchema({ min: 1000, max: 3_600_000 }).default(30_000).describe('Lease TTL at the hub once the session drops (default 30s)'),
  heartbeat_interval: durationSchema({ min: 100, max: 600_000 }).default(10_000).describe('How often the session heartbeats (default 10s)'),
  reconnect_max_backoff: durationSchema({ min: 100, max: 600_000 }).default(30_000).describe('Longest wait between attempts to reach a hub (full jitter below it; default 30s)'),
  cache_file: z
    .string({ error: `must be a file path, or "${CACHE_OFF}" for no peer cache` })
    .default('')
    .describe(`Where the last good peer config is kept; "${CACHE_OFF}": no cache file, nothing read or written; default: a file under the OS temp dir named after the service`),
  on_demand_idle: durationSchema({ min: 1000, max: 86_400_000 }).default(300_000).describe('An on-demand upstream unused this long is unsubscribed (default 5m)'),
  drain_period: durationSchema({ min: 0, max: 3_600_000 }).default(15_000).describe('After SIGTERM: how long the instance stays DRAINING before deregistering (default 15s)'),
  log_level: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info').describe('Log level'),
});

export type SidecarConfig = z.output<typeof sidecarConfigSchema>;

/** What the sidecar runs with: the parsed config with Kubernetes' downward API and the health check resolved. */
export interface ResolvedSidecarConfig extends Omit<SidecarConfig, 'health_check'> {
  namespace: string;
  instance_id: string;
  advertise_address: string;
  health_check: HealthCheckConfig;
}

/**
 * Fills what the config left open from the environment Kubernetes gives a pod (POD_UID,
 * POD_NAME, POD_IP, POD_NAMESPACE, NODE_NAME through the downward API), then parses the
 * health check (default: a TCP connect to the app's port).
 */
export function resolveSidecarConfig(config: SidecarConfig, env: NodeJS.ProcessEnv): ResolvedSidecarConfig {
  const pod = { uid: env.POD_UID, name: env.POD_NAME, ip: env.POD_IP, namespace: env.POD_NAMESPACE, node: env.NODE_NAME };
  const namespace = config.namespace ?? (pod.namespace || 'default');
  const instanceId = config.instance_id ?? pod.uid ?? pod.name ?? `${hostname()}-${config.app.port}`;
  const metadata = { ...config.metadata };
  if (pod.name && metadata['k8s.pod'] === undefined) metadata['k8s.pod'] = pod.name;
  if (pod.node && metadata['k8s.node'] === undefined) metadata['k8s.node'] = pod.node;
  const health = parseHealthCheck(config.health_check ?? { type: 'tcp' }, 'health_check');
  return {
    ...config,
    namespace: parseWith(namespaceNameSchema, namespace, 'namespace', 'config_invalid'),
    instance_id: parseWith(instanceIdSchema, instanceId, 'instance_id', 'config_invalid'),
    advertise_address: config.advertise_address ?? pod.ip ?? config.app.address,
    metadata: parseWith(metadataSchema, metadata, 'metadata', 'config_invalid'),
    health_check: health,
  };
}
