import { OutriggerError } from '../../common/errors.js';
import type { InjectorConfig } from '../../config/injector-config.js';
import { dnsUpstreamAddress } from '../../config/dns-config.js';
import { ANNOTATIONS, STATUS_INJECTED, annotationInvalid, parseAnnotations, readInjectAnnotation } from './annotations.js';
import { pointer, type AddOperation, type JsonPatch } from './json-patch.js';
import { defaultAppPort, defaultServiceName } from './pod-defaults.js';
import { podDnsPatch } from './pod-dns.js';
import { isRecord, type Container, type PodLike } from './pod-types.js';
import { proxyEnv } from './proxy-env.js';
import { SIDECAR_NAME, sidecarContainer, tmpVolume, tokenVolume, type SidecarSettings } from './sidecar-container.js';

export interface InjectContext {
  /** The namespace the pod is created in (the admission request's); offline, the manifest's, if it names one. */
  namespace?: string;
  /**
   * The pod reached the injector through the webhook whose namespaceSelector matches namespaces
   * labelled `outrigger.io/inject=enabled`, so it is opted in unless it says "false" itself.
   */
  namespaceOptIn: boolean;
  /** The name of the workload that owns the pod template (offline injection), a fallback for the service name. */
  workloadName?: string;
}

export type InjectResult =
  /** `warnings`: what the pod's owner should fix, though the pod is injected (shown by kubectl and `outrigger inject`). */
  | { injected: true; patch: JsonPatch; sidecar: SidecarSettings; warnings: string[] }
  | { injected: false; patch: JsonPatch; reason: string };

const skip = (reason: string): InjectResult => ({ injected: false, patch: [], reason });

function invalidPod(field: string, message: string): OutriggerError {
  return new OutriggerError('invalid_argument', `${field}: ${message}`, field);
}

/** Checks the shape the injector relies on; the API server sends valid pods, a manifest may not be one. */
function asPod(input: unknown): PodLike {
  if (!isRecord(input)) throw invalidPod('pod', 'must be an object');
  if (input.metadata !== undefined && input.metadata !== null && !isRecord(input.metadata)) throw invalidPod('metadata', 'must be a mapping');
  const meta = input.metadata as Record<string, unknown> | undefined | null;
  for (const key of ['annotations', 'labels'] as const) {
    const v = meta?.[key];
    if (v !== undefined && v !== null && !isRecord(v)) throw invalidPod(`metadata.${key}`, 'must be a mapping of strings');
  }
  if (!isRecord(input.spec)) throw invalidPod('spec', 'must be a pod spec (a mapping with containers)');
  const spec = input.spec;
  for (const key of ['containers', 'initContainers'] as const) {
    const list = spec[key];
    if ((list === undefined || list === null) && key === 'initContainers') continue;
    if (!Array.isArray(list) || (key === 'containers' && list.length === 0)) throw invalidPod(`spec.${key}`, 'must be a list of containers (at least one)');
    list.forEach((c: unknown, i) => {
      if (!isRecord(c) || typeof c.name !== 'string') throw invalidPod(`spec.${key}[${i}]`, 'must be a container with a name');
      if (c.env !== undefined && c.env !== null && !Array.isArray(c.env)) throw invalidPod(`spec.${key}[${i}].env`, 'must be a list');
      everyItemIsRecord(c.env, `spec.${key}[${i}].env`, 'an environment variable');
    });
  }
  if (spec.volumes !== undefined && spec.volumes !== null && !Array.isArray(spec.volumes)) throw invalidPod('spec.volumes', 'must be a list');
  everyItemIsRecord(spec.volumes, 'spec.volumes', 'a volume');
  return input as unknown as PodLike;
}

/** The items of a list the injector reads names from are mappings (a null or a number has no name to read). */
function everyItemIsRecord(list: unknown, field: string, what: string): void {
  if (!Array.isArray(list)) return;
  list.forEach((item: unknown, i) => {
    if (!isRecord(item)) throw invalidPod(`${field}[${i}]`, `must be ${what} (a mapping with a name)`);
  });
}

function alreadyInjected(pod: PodLike): boolean {
  const named = (list: Container[] | undefined): boolean => (list ?? []).some((c) => c.name === SIDECAR_NAME);
  return pod.metadata?.annotations?.[ANNOTATIONS.status] !== undefined || named(pod.spec.containers) || named(pod.spec.initContainers);
}

/** `add` to a list: the whole list when the field is absent (a JSON Patch cannot append to nothing), else one item at `at`. */
function addToList(path: Array<string | number>, list: unknown[] | undefined | null, items: unknown[], at: number | '-' = '-'): AddOperation[] {
  if (list === undefined || list === null) return [{ op: 'add', path: pointer(...path), value: items }];
  if (at === '-') return items.map((value) => ({ op: 'add', path: pointer(...path, '-'), value }));
  return items.map((value, i) => ({ op: 'add', path: pointer(...path, at + i), value }));
}

/**
 * Decides whether a pod gets a sidecar and, if so, returns the RFC 6902 patch that adds it.
 * Pure: the pod is not changed, and the same input always gives the same patch. Throws an
 * OutriggerError naming the annotation (or pod field) when the pod cannot be injected as asked.
 *
 * A pod is injected when its `outrigger.io/inject` annotation is not "false", and it is either
 * "true" or the pod came through the namespace opt-in. A pod that already has the sidecar (or
 * the status annotation) is left alone, so injecting twice changes nothing.
 */
export function injectPod(input: unknown, config: InjectorConfig, context: InjectContext): InjectResult {
  const pod = asPod(input);
  const annotations = pod.metadata?.annotations;
  const inject = readInjectAnnotation(annotations);
  if (inject === false) return skip(`the pod says ${ANNOTATIONS.inject}: "false"`);
  if (alreadyInjected(pod)) return skip('the pod already has the sidecar');
  if (inject !== true && !context.namespaceOptIn) {
    return skip(`not opted in: neither ${ANNOTATIONS.inject}: "true" on the pod nor the namespace label outrigger.io/inject=enabled`);
  }
  // On the node's network every such pod would want the same ports 15000 and 15001 (Istio skips them too).
  if (pod.spec.hostNetwork === true) return skip('the pod uses hostNetwork: a sidecar would take ports 15000 and 15001 on the node');
  const asked = parseAnnotations(annotations);
  const k8sNamespace = context.namespace ?? (typeof pod.metadata?.namespace === 'string' && pod.metadata.namespace !== '' ? pod.metadata.namespace : undefined);
  const settings: SidecarSettings = {
    service: defaultServiceName(pod, asked.service, context.workloadName),
    // Unknown offline when the manifest names no namespace: Kubernetes expands $(POD_NAMESPACE) at start.
    namespace: `${k8sNamespace ?? '$(POD_NAMESPACE)'}.${config.namespace_suffix}`,
    appPort: defaultAppPort(pod, asked.appPort),
    protocol: asked.protocol ?? 'http',
    ...(asked.healthCheck !== undefined ? { healthCheck: asked.healthCheck } : {}),
    ...(asked.upstreams !== undefined ? { upstreams: asked.upstreams } : {}),
    native: asked.nativeSidecar ?? config.native_sidecar,
  };
  if (asked.dns === true) {
    const upstream = asked.dnsUpstream ?? (config.dns_upstream === '' ? undefined : dnsUpstreamAddress(config.dns_upstream));
    if (upstream === undefined) {
      throw annotationInvalid(ANNOTATIONS.dnsUpstream, `is needed with ${ANNOTATIONS.dns}: "true": the IP address of the cluster's DNS Service (kubectl -n kube-system get service kube-dns), or set the injector's dns_upstream`);
    }
    settings.dnsUpstream = upstream;
  }

  const patch: JsonPatch = [];
  if (pod.metadata === undefined || pod.metadata === null) {
    patch.push({ op: 'add', path: pointer('metadata'), value: { annotations: { [ANNOTATIONS.status]: STATUS_INJECTED } } });
  } else if (pod.metadata.annotations === undefined || pod.metadata.annotations === null) {
    patch.push({ op: 'add', path: pointer('metadata', 'annotations'), value: { [ANNOTATIONS.status]: STATUS_INJECTED } });
  } else {
    patch.push({ op: 'add', path: pointer('metadata', 'annotations', ANNOTATIONS.status), value: STATUS_INJECTED });
  }

  const volumes = [tmpVolume(), tokenVolume()].filter((v) => !(pod.spec.volumes ?? []).some((have) => have.name === v.name));
  if (volumes.length > 0) patch.push(...addToList(['spec', 'volumes'], pod.spec.volumes, volumes));

  // Before the sidecar goes in: inserting it first in `containers` would shift these indices.
  if (asked.proxyEnv ?? config.proxy_env) {
    pod.spec.containers.forEach((c, i) => {
      const have = new Set((c.env ?? []).map((e) => e.name));
      const missing = proxyEnv().filter((e) => !have.has(e.name));
      if (missing.length > 0) patch.push(...addToList(['spec', 'containers', i, 'env'], c.env, missing));
    });
  }

  if (settings.dnsUpstream !== undefined) patch.push(...podDnsPatch(pod, k8sNamespace, config.namespace_suffix));

  // First, so the app's own init containers (and the app) can already call through it.
  const sidecar = sidecarContainer(settings, config);
  if (settings.native) patch.push(...addToList(['spec', 'initContainers'], pod.spec.initContainers, [sidecar], 0));
  else patch.push(...addToList(['spec', 'containers'], pod.spec.containers, [sidecar], 0));
  return { injected: true, patch, sidecar: settings, warnings: identityWarnings(pod, settings.service, k8sNamespace) };
}

/**
 * The sidecar presents the pod's ServiceAccount token, and by default the hub lets a
 * ServiceAccount register only the service of its own name: a pod running as another account
 * (often `default`) would have its sidecar refused, so its owner is told now.
 */
function identityWarnings(pod: PodLike, service: string, namespace: string | undefined): string[] {
  const spec = pod.spec as { serviceAccountName?: unknown; serviceAccount?: unknown };
  const named = [spec.serviceAccountName, spec.serviceAccount].find((v): v is string => typeof v === 'string' && v !== '');
  const account = named ?? 'default';
  if (account === service) return [];
  return [
    `ServiceAccount "${account}" is not "${service}", the service the sidecar registers; the hub lets an account write only the service of its name: ` +
      `set serviceAccountName: ${service}, or bind system:serviceaccount:${namespace ?? '<namespace>'}:${account} in the hub's auth.bindings`,
  ];
}
