import { OutriggerError } from '../../common/errors.js';
import { dnsUpstreamAddress } from '../../config/dns-config.js';
import { upstreamSchema, type UpstreamConfig } from '../../config/sidecar-config.js';
import { HEALTH_CHECK_TYPES, parseHealthCheck, type HealthCheckType } from '../../health/check-config.js';
import { isDnsLabel } from '../../model/names.js';
import { PROTOCOLS, type Protocol } from '../../model/protocol.js';
import { LB_POLICIES, type LbPolicyName } from '../../model/service-config.js';
import { isRecord } from './pod-types.js';

/** The pod annotations the injector reads (and the one it writes), in one place. */
export const ANNOTATIONS = {
  inject: 'outrigger.io/inject',
  service: 'outrigger.io/service',
  appPort: 'outrigger.io/app-port',
  protocol: 'outrigger.io/protocol',
  healthCheckType: 'outrigger.io/health-check-type',
  healthCheckPath: 'outrigger.io/health-check-path',
  healthCheckPort: 'outrigger.io/health-check-port',
  healthCheckCommand: 'outrigger.io/health-check-command',
  healthCheckTtl: 'outrigger.io/health-check-ttl',
  upstreams: 'outrigger.io/upstreams',
  lbPolicy: 'outrigger.io/lb-policy',
  nativeSidecar: 'outrigger.io/native-sidecar',
  proxyEnv: 'outrigger.io/proxy-env',
  dns: 'outrigger.io/dns',
  dnsUpstream: 'outrigger.io/dns-upstream',
  status: 'outrigger.io/status',
} as const;

export const STATUS_INJECTED = 'injected';

/** A health check as the sidecar config takes it (snake_case), checked with the sidecar's own parser. */
export type HealthCheckInput = Record<string, unknown> & { type: HealthCheckType };

/** What a pod asked for through its annotations; absent means "not said". */
export interface PodAnnotations {
  inject?: boolean;
  service?: string;
  appPort?: number;
  protocol?: Protocol;
  healthCheck?: HealthCheckInput;
  upstreams?: UpstreamConfig[];
  nativeSidecar?: boolean;
  proxyEnv?: boolean;
  /** The sidecar is the pod's resolver. */
  dns?: boolean;
  /** host:port of the resolver for names outside the mesh. */
  dnsUpstream?: string;
}

/** The error for a bad annotation: its field is the annotation, its message says what is allowed. */
export function annotationInvalid(annotation: string, message: string): OutriggerError {
  return new OutriggerError('annotation_invalid', `annotation ${annotation}: ${message}`, annotation);
}

const show = (v: unknown): string => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/** Reads one annotation as a string; Kubernetes only stores strings, so anything else is a manifest mistake. */
function text(annotations: Record<string, unknown>, key: string): string | undefined {
  const v = annotations[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    // Only a scalar can be quoted; String() of a list or mapping can throw (`[{"toString": null}]`).
    const hint = typeof v === 'object' ? '' : ` (quote the value in YAML: "${String(v)}")`;
    throw annotationInvalid(key, `must be a string${hint}, got ${show(v)}`);
  }
  return v;
}

function bool(annotations: Record<string, unknown>, key: string): boolean | undefined {
  const v = text(annotations, key);
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw annotationInvalid(key, `must be "true" or "false", got ${show(v)}`);
}

function port(annotations: Record<string, unknown>, key: string): number | undefined {
  const v = text(annotations, key);
  if (v === undefined) return undefined;
  const n = /^\d{1,5}$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!(n >= 1 && n <= 65535)) throw annotationInvalid(key, `must be a port number from 1 to 65535, got ${show(v)}`);
  return n;
}

function oneOf<T extends string>(annotations: Record<string, unknown>, key: string, allowed: readonly T[]): T | undefined {
  const v = text(annotations, key);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw annotationInvalid(key, `must be one of ${allowed.join(', ')}, got ${show(v)}`);
  return v as T;
}

/** Reads only `outrigger.io/inject`: an opted-out pod is left alone even if its other annotations are wrong. */
export function readInjectAnnotation(annotations: unknown): boolean | undefined {
  return isRecord(annotations) ? bool(annotations, ANNOTATIONS.inject) : undefined;
}

/** `worker.secure-api.local:9001,billing` → upstream entries, the local port optional. */
function parseUpstreams(value: string, lbPolicy: LbPolicyName | undefined): UpstreamConfig[] {
  const key = ANNOTATIONS.upstreams;
  const format = 'a comma-separated list of <service>[.<namespace>][:<local port>], e.g. "worker.secure-api.local:9001,billing"';
  const entries = value.split(',').map((e) => e.trim());
  if (entries.some((e) => e === '')) throw annotationInvalid(key, `must be ${format}, got ${show(value)}`);
  const out: UpstreamConfig[] = [];
  const seenServices = new Set<string>();
  const seenPorts = new Set<number>();
  for (const entry of entries) {
    const m = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(entry);
    if (m === null) throw annotationInvalid(key, `must be ${format}; ${show(entry)} is not`);
    const port = m[2] === undefined ? undefined : Number(m[2]);
    // The sidecar config takes 0 (any free port), but an app in a pod is configured with a fixed one.
    if (port !== undefined && (port < 1 || port > 65535)) {
      throw annotationInvalid(key, `the local port of ${show(entry)} must be an integer from 1 to 65535 (${format})`);
    }
    const candidate = {
      service: m[1]!,
      ...(port !== undefined ? { local_port: port } : {}),
      ...(lbPolicy !== undefined ? { lb_policy: lbPolicy } : {}),
    };
    const parsed = upstreamSchema.safeParse(candidate);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const what = issue.path[0] === 'local_port' ? `the local port of ${show(entry)}` : `${show(m[1])}`;
      throw annotationInvalid(key, `${what} ${issue.message} (${format})`);
    }
    if (seenServices.has(parsed.data.service)) throw annotationInvalid(key, `lists ${show(parsed.data.service)} twice`);
    seenServices.add(parsed.data.service);
    if (parsed.data.local_port !== undefined) {
      if (seenPorts.has(parsed.data.local_port)) throw annotationInvalid(key, `uses local port ${parsed.data.local_port} twice`);
      seenPorts.add(parsed.data.local_port);
    }
    out.push(parsed.data);
  }
  return out;
}

/** The health-check annotations → the sidecar's health_check section, validated by the sidecar's own parser. */
function parseHealthAnnotations(annotations: Record<string, unknown>): HealthCheckInput | undefined {
  const type = oneOf(annotations, ANNOTATIONS.healthCheckType, HEALTH_CHECK_TYPES);
  const path = text(annotations, ANNOTATIONS.healthCheckPath);
  const checkPort = port(annotations, ANNOTATIONS.healthCheckPort);
  const command = text(annotations, ANNOTATIONS.healthCheckCommand);
  const ttl = text(annotations, ANNOTATIONS.healthCheckTtl);
  const given: Array<[string, unknown, readonly HealthCheckType[]]> = [
    [ANNOTATIONS.healthCheckPath, path, ['http']],
    [ANNOTATIONS.healthCheckPort, checkPort, ['http', 'tcp', 'grpc']],
    [ANNOTATIONS.healthCheckCommand, command, ['exec']],
    [ANNOTATIONS.healthCheckTtl, ttl, ['ttl']],
  ];
  if (type === undefined) {
    const first = given.find(([, v]) => v !== undefined);
    if (first !== undefined) throw annotationInvalid(first[0], `needs ${ANNOTATIONS.healthCheckType} (one of ${HEALTH_CHECK_TYPES.join(', ')}) beside it`);
    return undefined;
  }
  for (const [name, v, types] of given) {
    if (v !== undefined && !types.includes(type)) {
      throw annotationInvalid(name, `applies only when ${ANNOTATIONS.healthCheckType} is ${types.join(' or ')}, not ${type}`);
    }
  }
  const check: HealthCheckInput = { type };
  if (path !== undefined) check.path = path;
  if (checkPort !== undefined) check.port = checkPort;
  if (type === 'exec') {
    if (command === undefined) throw annotationInvalid(ANNOTATIONS.healthCheckCommand, `is required when ${ANNOTATIONS.healthCheckType} is exec: the program and its arguments, separated by spaces`);
    check.command = command.trim().split(/\s+/);
  }
  // A TTL check needs its TTL; 30s matches the sidecar's lease TTL default.
  if (type === 'ttl') check.ttl = ttl ?? '30s';
  try {
    parseHealthCheck(check, 'health_check');
  } catch (err) {
    if (!(err instanceof OutriggerError)) throw err;
    const field = err.field ?? '';
    const annotation = field.endsWith('.path')
      ? ANNOTATIONS.healthCheckPath
      : field.endsWith('.ttl')
        ? ANNOTATIONS.healthCheckTtl
        : field.includes('.command')
          ? ANNOTATIONS.healthCheckCommand
          : ANNOTATIONS.healthCheckType;
    throw annotationInvalid(annotation, err.message.replace(/^health_check\.[a-z_]+(\[\d+\])?: /, ''));
  }
  return check;
}

/**
 * Reads and checks every Outrigger annotation of a pod. Throws on the first bad one, naming
 * the annotation and what it allows.
 */
export function parseAnnotations(annotations: unknown): PodAnnotations {
  if (annotations === undefined || annotations === null) return {};
  if (!isRecord(annotations)) throw new OutriggerError('invalid_argument', 'metadata.annotations: must be a mapping of strings', 'metadata.annotations');
  const out: PodAnnotations = {};
  const inject = bool(annotations, ANNOTATIONS.inject);
  if (inject !== undefined) out.inject = inject;
  const service = text(annotations, ANNOTATIONS.service);
  if (service !== undefined) {
    if (!isDnsLabel(service)) throw annotationInvalid(ANNOTATIONS.service, `must be a DNS label (1-63 lowercase letters, digits or "-", starting and ending with a letter or digit), got ${show(service)}`);
    out.service = service;
  }
  const appPort = port(annotations, ANNOTATIONS.appPort);
  if (appPort !== undefined) out.appPort = appPort;
  const protocol = oneOf(annotations, ANNOTATIONS.protocol, PROTOCOLS);
  if (protocol !== undefined) out.protocol = protocol;
  const healthCheck = parseHealthAnnotations(annotations);
  if (healthCheck !== undefined) out.healthCheck = healthCheck;
  const lbPolicy = oneOf(annotations, ANNOTATIONS.lbPolicy, LB_POLICIES);
  const upstreams = text(annotations, ANNOTATIONS.upstreams);
  if (upstreams !== undefined) out.upstreams = parseUpstreams(upstreams, lbPolicy);
  else if (lbPolicy !== undefined) throw annotationInvalid(ANNOTATIONS.lbPolicy, `applies only to the upstreams declared in ${ANNOTATIONS.upstreams}; set ${ANNOTATIONS.upstreams} too`);
  const nativeSidecar = bool(annotations, ANNOTATIONS.nativeSidecar);
  if (nativeSidecar !== undefined) out.nativeSidecar = nativeSidecar;
  const proxyEnv = bool(annotations, ANNOTATIONS.proxyEnv);
  if (proxyEnv !== undefined) out.proxyEnv = proxyEnv;
  const dns = bool(annotations, ANNOTATIONS.dns);
  if (dns !== undefined) out.dns = dns;
  const upstream = text(annotations, ANNOTATIONS.dnsUpstream);
  if (upstream !== undefined) {
    const address = dnsUpstreamAddress(upstream.trim());
    if (address === undefined) throw annotationInvalid(ANNOTATIONS.dnsUpstream, `must be the IP address of the cluster's DNS Service, with :port if not 53 (e.g. 10.96.0.10), got ${show(upstream)}`);
    if (dns !== true) throw annotationInvalid(ANNOTATIONS.dnsUpstream, `applies only with ${ANNOTATIONS.dns}: "true"`);
    out.dnsUpstream = address;
  }
  return out;
}
