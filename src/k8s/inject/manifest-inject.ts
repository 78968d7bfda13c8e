import YAML, { type Document } from 'yaml';
import { OutriggerError } from '../../common/errors.js';
import type { InjectorConfig } from '../../config/injector-config.js';
import { injectPod, type InjectResult } from './inject-pod.js';
import { isRecord } from './pod-types.js';
import { applyPatchToYaml } from './yaml-patch.js';

/** Where each workload kind keeps its pod template; other kinds pass through untouched. */
export const POD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export interface DocumentOutcome {
  /** 1-based position of the document in the stream. */
  index: number;
  kind: string;
  name: string;
  injected: boolean;
  /** Why a workload was left alone; absent for kinds without a pod template. */
  reason?: string;
  /** What to fix in an injected workload (its ServiceAccount, say). */
  warnings?: string[];
}

export interface ManifestResult {
  text: string;
  documents: DocumentOutcome[];
}

function at(value: unknown, path: readonly string[]): unknown {
  let cur = value;
  for (const key of path) cur = isRecord(cur) ? cur[key] : undefined;
  return cur;
}

/**
 * Injects the sidecar into every workload of a multi-document YAML stream, as `kubectl apply`
 * would see it after the webhook: every workload counts as opted in unless its pod template
 * says `outrigger.io/inject: "false"`. The webhook's own patch is applied to the YAML, so both
 * paths produce the same pod. Documents that change are re-printed (comments and key order
 * kept); all others are copied byte for byte. Throws an OutriggerError naming the document,
 * its kind and name, and the annotation or field at fault.
 */
export function injectManifest(text: string, config: InjectorConfig): ManifestResult {
  const docs = YAML.parseAllDocuments(text, { prettyErrors: false }) as Document[];
  const documents: DocumentOutcome[] = [];
  let out = '';
  let copiedTo = 0;
  let prevEnd = 0;
  docs.forEach((doc, i) => {
    const index = i + 1;
    // A document's text runs from the end of the one before: its leading comments sit before
    // its range, and toString() prints them again.
    const start = prevEnd;
    const end = doc.range?.[2] ?? text.length;
    prevEnd = end;
    const error = doc.errors[0];
    if (error !== undefined) throw new OutriggerError('invalid_argument', `document ${index}: not valid YAML: ${error.message}`, `document ${index}`);
    const js: unknown = doc.toJS();
    const kind = isRecord(js) && typeof js.kind === 'string' ? js.kind : '';
    const metaName = at(js, ['metadata', 'name']);
    const name = typeof metaName === 'string' ? metaName : '';
    const templatePath = POD_TEMPLATE_PATHS[kind];
    if (templatePath === undefined) {
      documents.push({ index, kind, name, injected: false });
      return;
    }
    const where = `document ${index} (${kind}${name !== '' ? ` ${name}` : ''})`;
    const template = templatePath.length === 0 ? js : at(js, templatePath);
    const templateField = templatePath.length === 0 ? 'the pod' : `the pod template ${templatePath.join('.')}`;
    const namespace = at(js, ['metadata', 'namespace']);
    let result: InjectResult;
    try {
      result = injectPod(template, config, {
        namespaceOptIn: true,
        ...(typeof namespace === 'string' && namespace !== '' ? { namespace } : {}),
        ...(kind !== 'Pod' && name !== '' ? { workloadName: name } : {}),
      });
    } catch (err) {
      if (!(err instanceof OutriggerError)) throw err;
      const inTemplate = err.field?.startsWith('outrigger.io/') === true ? '' : ` in ${templateField}`;
      throw new OutriggerError(err.code, `${where}${inTemplate}: ${err.message}`, err.field);
    }
    if (!result.injected) {
      documents.push({ index, kind, name, injected: false, reason: result.reason });
      return;
    }
    applyPatchToYaml(doc, templatePath, result.patch);
    out += text.slice(copiedTo, start) + doc.toString({ lineWidth: 0, flowCollectionPadding: false });
    copiedTo = end;
    documents.push({ index, kind, name, injected: true, ...(result.warnings.length > 0 ? { warnings: result.warnings.map((w) => `${where}: ${w}`) } : {}) });
  });
  out += text.slice(copiedTo);
  return { text: out, documents };
}
