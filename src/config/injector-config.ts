import { z } from 'zod';
import { isDnsName } from '../model/names.js';
import { listenPort } from '../model/port.js';
import { dnsUpstreamAddress } from './dns-config.js';
import { LOG_LEVELS } from '../common/logger.js';

export const IMAGE_PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;

const QUANTITY_HELP = 'must be a Kubernetes quantity such as "50m", "0.5", "64Mi" or "1Gi"';
/** Kubernetes resource quantities as people write them (decimal or binary suffixes, or millicores). */
const quantity = z
  .string({ error: QUANTITY_HELP })
  .regex(/^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/, { error: QUANTITY_HELP });

const hubAddress = z
  .string({ error: 'must be host:port' })
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'must be host:port, e.g. outrigger-hub.outrigger.svc:15010' });

const DEFAULT_RESOURCES = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { memory: '128Mi' },
};

/**
 * The sidecar injector's configuration (the admission webhook, `outrigger injector`, and the
 * offline `outrigger inject`), as written in YAML (snake_case). The Helm chart sets exactly
 * these keys. Every key has a working default.
 */
export const injectorConfigSchema = z
  .strictObject({
    bind: z.string({ error: 'must be an IP address to listen on' }).min(1, { error: 'must be an IP address to listen on' }).default('0.0.0.0').describe('Address the webhook listens on'),
    port: listenPort('HTTPS port of the webhook (POST /mutate, GET /healthz)', 9443),
    tls_cert_file: z.string({ error: 'must be a file path' }).default('').describe('PEM certificate (chain) of the webhook; empty with tls_key_file empty: a self-signed one is made at start'),
    tls_key_file: z.string({ error: 'must be a file path' }).default('').describe('PEM private key of the webhook; set together with tls_cert_file'),
    image: z
      .string({ error: 'must be a container image reference' })
      .regex(/^\S+$/, { error: 'must be a container image reference without spaces, e.g. outrigger:0.1.0' })
      .default('outrigger:0.1.0')
      .describe('Image of the injected sidecar'),
    image_pull_policy: z.enum(IMAGE_PULL_POLICIES, { error: `must be one of ${IMAGE_PULL_POLICIES.join(', ')}` }).default('IfNotPresent').describe('imagePullPolicy of the injected sidecar'),
    hubs: z
      .array(hubAddress, { error: 'must be a list of host:port' })
      .min(1, { error: 'must list at least one hub as host:port' })
      .default(['outrigger-hub.outrigger.svc:15010'])
      .describe('Hub gRPC addresses the injected sidecars use (OUTRIGGER_HUBS)'),
    native_sidecar: z.boolean({ error: 'must be true or false' }).default(true).describe('Inject a native sidecar (an init container with restartPolicy Always, Kubernetes 1.29+); false: a regular first container'),
    proxy_env: z.boolean({ error: 'must be true or false' }).default(false).describe('Set HTTP_PROXY and NO_PROXY in every app container (per pod: annotation outrigger.io/proxy-env)'),
    dns_upstream: z
      .string({ error: 'must be empty or an IP address, with :port if not 53' })
      .refine((s) => s === '' || dnsUpstreamAddress(s) !== undefined, { error: 'must be empty or an IP address, with :port if not 53: 10.96.0.10, [fd00::a]:53' })
      .default('')
      .describe('The cluster DNS Service IP that sidecars of pods asking outrigger.io/dns forward names outside the mesh to (per pod: outrigger.io/dns-upstream)'),
    // The same key and default as the hub's kubernetes.namespace_suffix: both must agree for a
    // sidecar to register in the namespace where the hub lists that Kubernetes namespace's Services.
    namespace_suffix: z
      .string({ error: 'must be a DNS name' })
      .refine(isDnsName, { error: 'must be a DNS name: dot-separated lowercase labels, e.g. svc.cluster.local' })
      .default('svc.cluster.local')
      .describe('Appended to the pod\'s Kubernetes namespace to make its registry namespace (<namespace>.<suffix>); keep it equal to the hub\'s kubernetes.namespace_suffix'),
    resources: z
      .strictObject({
        requests: z
          .strictObject({
            cpu: quantity.default(DEFAULT_RESOURCES.requests.cpu).describe('CPU request of the sidecar'),
            memory: quantity.default(DEFAULT_RESOURCES.requests.memory).describe('Memory request of the sidecar'),
          })
          .default(DEFAULT_RESOURCES.requests),
        limits: z
          .strictObject({
            cpu: quantity.optional().describe('CPU limit of the sidecar (none by default: throttling a proxy adds latency)'),
            memory: quantity.default(DEFAULT_RESOURCES.limits.memory).describe('Memory limit of the sidecar'),
          })
          .default(DEFAULT_RESOURCES.limits),
      })
      .default(DEFAULT_RESOURCES),
    log_level: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info').describe('Log level of the injector (logs are JSON lines on stderr)'),
  })
  .superRefine((c, ctx) => {
    // Half a key pair is a mistake, never a request for a self-signed certificate.
    if ((c.tls_cert_file === '') !== (c.tls_key_file === '')) {
      const missing = c.tls_cert_file === '' ? 'tls_cert_file' : 'tls_key_file';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'must be set too: tls_cert_file and tls_key_file go together (both, or neither for a self-signed certificate)', input: '' });
    }
  });

export type InjectorConfig = z.output<typeof injectorConfigSchema>;
