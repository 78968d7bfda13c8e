import { OutriggerError } from '../../common/errors.js';
import type { InjectorConfig } from '../../config/injector-config.js';
import { injectPod } from './inject-pod.js';
import { isRecord } from './pod-types.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

/** The parts of an AdmissionReview request the injector reads. */
export interface AdmissionRequest {
  uid: string;
  namespace?: string;
  operation?: string;
  kind?: { group?: string; version?: string; kind?: string };
  object: Record<string, unknown>;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** The JSON Patch, base64-encoded. */
  patch?: string;
  status?: { code: number; message: string };
  /** Shown by kubectl to whoever created the pod ("Warning: ..."). */
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_KIND;
  response: AdmissionResponse;
}

const malformed = (field: string, message: string): OutriggerError => new OutriggerError('invalid_argument', `${field}: ${message}`, field);

/** Checks an AdmissionReview as the API server sends it; a malformed one throws, naming the field. */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (!isRecord(body)) throw malformed('body', `must be an ${ADMISSION_KIND} object`);
  if (body.apiVersion !== ADMISSION_API_VERSION) throw malformed('apiVersion', `must be "${ADMISSION_API_VERSION}" (the webhook's admissionReviewVersions must list v1), got ${JSON.stringify(body.apiVersion) ?? 'nothing'}`);
  if (body.kind !== ADMISSION_KIND) throw malformed('kind', `must be "${ADMISSION_KIND}", got ${JSON.stringify(body.kind) ?? 'nothing'}`);
  const request = body.request;
  if (!isRecord(request)) throw malformed('request', 'must be an object');
  if (typeof request.uid !== 'string' || request.uid === '') throw malformed('request.uid', 'must be a non-empty string');
  if (!isRecord(request.object)) throw malformed('request.object', 'must be the object being admitted');
  if (request.namespace !== undefined && typeof request.namespace !== 'string') throw malformed('request.namespace', 'must be a string');
  if (request.kind !== undefined && !isRecord(request.kind)) throw malformed('request.kind', 'must be an object {group, version, kind}');
  return request as unknown as AdmissionRequest;
}

const answer = (response: AdmissionResponse): AdmissionReviewResponse => ({ apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response });

/**
 * Answers one admission request: a Pod CREATE gets the sidecar patch (or nothing when it is
 * not to be injected); a pod whose annotations are invalid is refused with a message naming
 * the annotation, so the mistake shows up in `kubectl apply` instead of a pod without its
 * sidecar. Anything else is allowed unchanged.
 */
export function reviewAdmission(request: AdmissionRequest, config: InjectorConfig, namespaceOptIn: boolean): AdmissionReviewResponse {
  const kind = request.kind?.kind;
  const isPodCreate = (kind === undefined || kind === 'Pod') && (request.operation === undefined || request.operation === 'CREATE');
  if (!isPodCreate) return answer({ uid: request.uid, allowed: true });
  try {
    const result = injectPod(request.object, config, { ...(request.namespace ? { namespace: request.namespace } : {}), namespaceOptIn });
    if (!result.injected || result.patch.length === 0) return answer({ uid: request.uid, allowed: true });
    return answer({
      uid: request.uid,
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(result.patch)).toString('base64'),
      ...(result.warnings.length > 0 ? { warnings: result.warnings.map((w) => `outrigger: ${w}`) } : {}),
    });
  } catch (err) {
    if (!(err instanceof OutriggerError)) throw err;
    return answer({ uid: request.uid, allowed: false, status: { code: 400, message: `outrigger sidecar injector: ${err.message}` } });
  }
}
