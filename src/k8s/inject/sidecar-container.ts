import { KUBERNETES_TOKEN_AUDIENCE } from '../../config/hub-security-config.js';
import type { InjectorConfig } from '../../config/injector-config.js';
import type { UpstreamConfig } from '../../config/sidecar-config.js';
import type { Protocol } from '../../model/protocol.js';
import type { HealthCheckInput } from './annotations.js';
import type { Container, EnvVar } from './pod-types.js';

export const SIDECAR_NAME = 'outrigger-sidecar';
/** The sidecar's default admin and outbound ports (DESIGN: admin 15000, outbound 15001). */
export const ADMIN_PORT = 15000;
export const OUTBOUND_PORT = 15001;
/** A fixed non-root uid (Istio's choice too), so policies can tell the proxy's traffic apart. */
export const SIDECAR_UID = 1337;
/** The root filesystem is read-only; the sidecar's temp dir (where its peer cache lives) is an emptyDir. */
export const TMP_VOLUME = 'outrigger-tmp';
/**
 * The projected ServiceAccount token the sidecar presents to the hub (audience `outrigger`).
 * The kubelet replaces it well before it expires, and the sidecar re-reads the file when it
 * changes; only the sidecar mounts it.
 */
export const TOKEN_VOLUME = 'outrigger-token';
export const TOKEN_DIR = '/var/run/secrets/outrigger';
export const TOKEN_FILE = `${TOKEN_DIR}/token`;
export const TOKEN_EXPIRATION_SECONDS = 3600;

/** What the sidecar of one pod is told, resolved from annotations, pod and injector config. */
export interface SidecarSettings {
  service: string;
  /** The registry namespace: `<pod namespace>.<namespace_suffix>`, or `$(POD_NAMESPACE).<suffix>` when the pod's namespace is not known yet. */
  namespace: string;
  appPort: number;
  protocol: Protocol;
  healthCheck?: HealthCheckInput;
  upstreams?: UpstreamConfig[];
  /** A native sidecar (restartPolicy Always init container) or a regular first container. */
  native: boolean;
  /** The sidecar is the pod's resolver on 127.0.0.1:53, forwarding what is not the mesh's to this host:port. */
  dnsUpstream?: string;
}

/** Where the sidecar answers DNS when it is the pod's resolver: resolv.conf knows no port but 53. */
export const POD_RESOLVER = '127.0.0.1';

const fieldEnv = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });

/**
 * V8's young generation for the sidecar's Node process. V8 grows each semi-space to 16 MB under
 * load, about 30 MB resident; a sidecar's garbage is short-lived and small, and 2 MB semi-spaces
 * cut its peak RSS by about 25 MB for between nothing and a tenth more CPU per request
 * (bench/README.md, "memory of one sidecar").
 */
export const SIDECAR_NODE_OPTIONS = '--max-semi-space-size=2';

/**
 * The sidecar's environment. The downward-API variables come first: Kubernetes expands
 * `$(POD_NAMESPACE)` only from variables defined before it. Structured values are JSON, which
 * the sidecar's layered config reads as YAML.
 */
function sidecarEnv(s: SidecarSettings, config: InjectorConfig): EnvVar[] {
  return [
    fieldEnv('POD_UID', 'metadata.uid'),
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('POD_IP', 'status.podIP'),
    fieldEnv('NODE_NAME', 'spec.nodeName'),
    { name: 'NODE_OPTIONS', value: SIDECAR_NODE_OPTIONS },
    { name: 'OUTRIGGER_SERVICE', value: s.service },
    { name: 'OUTRIGGER_NAMESPACE', value: s.namespace },
    { name: 'OUTRIGGER_APP__PORT', value: String(s.appPort) },
    { name: 'OUTRIGGER_APP__PROTOCOL', value: s.protocol },
    { name: 'OUTRIGGER_HUBS', value: JSON.stringify(config.hubs) },
    { name: 'OUTRIGGER_HUB_TOKEN_FILE', value: TOKEN_FILE },
    ...(s.healthCheck !== undefined ? [{ name: 'OUTRIGGER_HEALTH_CHECK', value: JSON.stringify(s.healthCheck) }] : []),
    ...(s.upstreams !== undefined && s.upstreams.length > 0 ? [{ name: 'OUTRIGGER_UPSTREAMS', value: JSON.stringify(s.upstreams) }] : []),
    ...(s.dnsUpstream !== undefined
      ? [
          { name: 'OUTRIGGER_DNS__LISTEN', value: `${POD_RESOLVER}:53` },
          { name: 'OUTRIGGER_DNS__UPSTREAM', value: s.dnsUpstream },
        ]
      : []),
  ];
}

const httpGet = (path: string) => ({ httpGet: { path, port: ADMIN_PORT } });

/** The sidecar container, native or regular; the caller places it. */
export function sidecarContainer(s: SidecarSettings, config: InjectorConfig): Container {
  const limits: Record<string, string> = { ...(config.resources.limits.cpu !== undefined ? { cpu: config.resources.limits.cpu } : {}), memory: config.resources.limits.memory };
  const container: Container = {
    name: SIDECAR_NAME,
    image: config.image,
    imagePullPolicy: config.image_pull_policy,
    args: ['sidecar'],
    ...(s.native ? { restartPolicy: 'Always' } : {}),
    env: sidecarEnv(s, config),
    ports: [
      { name: 'outrigger-admin', containerPort: ADMIN_PORT, protocol: 'TCP' },
      { name: 'outrigger-proxy', containerPort: OUTBOUND_PORT, protocol: 'TCP' },
    ],
    readinessProbe: { ...httpGet('/ready'), periodSeconds: 5, failureThreshold: 3 },
    livenessProbe: { ...httpGet('/live'), periodSeconds: 10, failureThreshold: 3 },
    // A native sidecar holds back the app containers until its startup probe passes. /ready
    // also waits for the app to be healthy, which cannot happen before the app starts, so the
    // startup probe asks /ready/proxy: the sidecar can route the app's calls.
    ...(s.native ? { startupProbe: { ...httpGet('/ready/proxy'), periodSeconds: 1, failureThreshold: 120 } } : {}),
    // A regular container's postStart hook holds back the containers after it (the sidecar is
    // placed first), so the app starts once its sidecar can route.
    ...(s.native
      ? {}
      : { lifecycle: { postStart: { exec: { command: ['outrigger', 'sidecar', 'wait-ready', '--proxy', '--admin', `http://127.0.0.1:${ADMIN_PORT}`, '--timeout', '60s'] } } } }),
    resources: { requests: { cpu: config.resources.requests.cpu, memory: config.resources.requests.memory }, limits },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: SIDECAR_UID,
      runAsGroup: SIDECAR_UID,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { name: TMP_VOLUME, mountPath: '/tmp' },
      { name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true },
    ],
  };
  return container;
}

/** The emptyDir the sidecar writes its temp files (the last good peer config) to. */
export const tmpVolume = (): { name: string; emptyDir: Record<string, unknown> } => ({ name: TMP_VOLUME, emptyDir: { sizeLimit: '16Mi' } });

/** The sidecar's identity for the hub: a ServiceAccount token for the audience `outrigger`, rotated by the kubelet. */
export const tokenVolume = (): { name: string; projected: Record<string, unknown> } => ({
  name: TOKEN_VOLUME,
  projected: { sources: [{ serviceAccountToken: { audience: KUBERNETES_TOKEN_AUDIENCE, expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: 'token' } }] },
});
