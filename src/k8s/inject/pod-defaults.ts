import { isDnsLabel } from '../../model/names.js';
import { ANNOTATIONS, annotationInvalid } from './annotations.js';
import type { PodLike } from './pod-types.js';

const label = (pod: PodLike, key: string): string | undefined => {
  const v = pod.metadata?.labels?.[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/**
 * The stem of a pod's name: `web-7d9f8b6c5-` (a Deployment's generateName) → `web`,
 * `db-0` (a StatefulSet pod) → `db`. The pod-template-hash label tells a ReplicaSet's suffix
 * apart from a name that merely ends in a word.
 */
export function nameStem(pod: PodLike): string | undefined {
  const meta = pod.metadata;
  const generate = typeof meta?.generateName === 'string' ? meta.generateName.replace(/-+$/, '') : '';
  if (generate !== '') {
    const hash = label(pod, 'pod-template-hash');
    return hash !== undefined && generate.endsWith(`-${hash}`) ? generate.slice(0, -hash.length - 1) : generate;
  }
  const name = typeof meta?.name === 'string' ? meta.name : '';
  if (name === '') return undefined;
  return label(pod, 'statefulset.kubernetes.io/pod-name') === name ? name.replace(/-\d+$/, '') : name;
}

/**
 * The service name a pod registers as: the annotation, else the pod's
 * `app.kubernetes.io/name` label, else its `app` label, else the workload's name (offline
 * injection knows it), else the stem of the pod's name.
 */
export function defaultServiceName(pod: PodLike, annotated: string | undefined, workloadName: string | undefined): string {
  if (annotated !== undefined) return annotated;
  const candidates: Array<[string, string | undefined]> = [
    ['label app.kubernetes.io/name', label(pod, 'app.kubernetes.io/name')],
    ['label app', label(pod, 'app')],
    ['workload name', workloadName],
    ['pod name', nameStem(pod)],
  ];
  const found = candidates.find(([, v]) => v !== undefined);
  if (found === undefined) {
    throw annotationInvalid(ANNOTATIONS.service, 'is needed: the pod has no app.kubernetes.io/name or app label and no name to take the service name from');
  }
  const [from, name] = found as [string, string];
  if (!isDnsLabel(name)) {
    throw annotationInvalid(ANNOTATIONS.service, `is needed: the service name taken from the ${from}, ${JSON.stringify(name)}, is not a DNS label (lowercase letters, digits, "-"); set the annotation to one`);
  }
  return name;
}

/** The app's port: the annotation, else the first containerPort of the first app container. */
export function defaultAppPort(pod: PodLike, annotated: number | undefined): number {
  if (annotated !== undefined) return annotated;
  const first = pod.spec.containers[0]?.ports?.[0]?.containerPort;
  if (typeof first === 'number' && Number.isInteger(first) && first >= 1 && first <= 65535) return first;
  throw annotationInvalid(
    ANNOTATIONS.appPort,
    `is needed: the first container (${pod.spec.containers[0]?.name ?? 'none'}) declares no containerPort, so the app's port is unknown; set ${ANNOTATIONS.appPort} to it (or ${ANNOTATIONS.inject}: "false" to leave this pod alone)`,
  );
}
