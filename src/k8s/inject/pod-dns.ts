/**
 * `outrigger.io/dns: "true"`: the sidecar becomes the pod's resolver. resolv.conf names no port,
 * so the sidecar answers on 127.0.0.1:53; the pod's `net.ipv4.ip_unprivileged_port_start` sysctl
 * (namespaced, in Kubernetes' safe set since 1.22) lets its non-root user bind that port. Mesh
 * names are answered from the sidecar's xDS view, everything else is forwarded to the cluster's
 * DNS Service.
 */
import { annotationInvalid, ANNOTATIONS } from './annotations.js';
import { pointer, type JsonPatch } from './json-patch.js';
import { isRecord, type PodLike } from './pod-types.js';
import { POD_RESOLVER } from './sidecar-container.js';

const SYSCTL = 'net.ipv4.ip_unprivileged_port_start';

/** The patch that points the pod's resolver at its sidecar. `k8sNamespace` undefined: not known offline. */
export function podDnsPatch(pod: PodLike, k8sNamespace: string | undefined, namespaceSuffix: string): JsonPatch {
  const spec = pod.spec;
  if (spec.dnsConfig !== undefined && spec.dnsConfig !== null) {
    throw annotationInvalid(ANNOTATIONS.dns, 'the pod sets spec.dnsConfig itself; remove it, or the annotation, so the resolver is not configured twice');
  }
  // Kubernetes' own search list (`<ns>.svc.<domain>`, `svc.<domain>`, `<domain>`), so short names resolve as before.
  const domain = namespaceSuffix.startsWith('svc.') ? namespaceSuffix.slice(4) : undefined;
  const searches = [...(k8sNamespace !== undefined ? [`${k8sNamespace}.${namespaceSuffix}`] : []), namespaceSuffix, ...(domain !== undefined ? [domain] : [])];
  const patch: JsonPatch = [
    { op: 'add', path: pointer('spec', 'dnsPolicy'), value: 'None' },
    { op: 'add', path: pointer('spec', 'dnsConfig'), value: { nameservers: [POD_RESOLVER], searches, options: [{ name: 'ndots', value: '5' }] } },
  ];
  const sysctl = { name: SYSCTL, value: '53' };
  const context = spec.securityContext;
  if (context === undefined || context === null) {
    patch.push({ op: 'add', path: pointer('spec', 'securityContext'), value: { sysctls: [sysctl] } });
    return patch;
  }
  if (!isRecord(context)) throw annotationInvalid(ANNOTATIONS.dns, 'spec.securityContext must be a mapping');
  const sysctls = context.sysctls;
  if (sysctls === undefined || sysctls === null) {
    patch.push({ op: 'add', path: pointer('spec', 'securityContext', 'sysctls'), value: [sysctl] });
    return patch;
  }
  if (!Array.isArray(sysctls)) throw annotationInvalid(ANNOTATIONS.dns, 'spec.securityContext.sysctls must be a list');
  const have = sysctls.find((s) => isRecord(s) && s.name === SYSCTL);
  if (have === undefined) patch.push({ op: 'add', path: pointer('spec', 'securityContext', 'sysctls', '-'), value: sysctl });
  else if (!(Number((have as Record<string, unknown>).value) <= 53)) {
    throw annotationInvalid(ANNOTATIONS.dns, `the pod sets ${SYSCTL} above 53, so the sidecar could not listen on port 53`);
  }
  return patch;
}
