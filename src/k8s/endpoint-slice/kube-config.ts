import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { OutriggerError } from '../../common/errors.js';

/** Where Kubernetes mounts a pod's service account token. */
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Loads the credentials the hub talks to the API server with: the kubeconfig file at `path`
 * when given; otherwise the pod's service account when running in a pod, else KUBECONFIG or
 * ~/.kube/config (client-node's default search). A failure is a config error on `key`.
 */
export function loadKubeConfig(path: string, env: NodeJS.ProcessEnv = process.env, key = 'kubernetes.kubeconfig'): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path !== '') kc.loadFromFile(path);
    else if (env['KUBERNETES_SERVICE_HOST'] !== undefined && existsSync(SERVICE_ACCOUNT_TOKEN)) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new OutriggerError('config_invalid', `${key}: cannot load ${path === '' ? 'the default kubeconfig' : path}: ${why}`, key);
  }
  if (kc.getCurrentCluster() === null) {
    throw new OutriggerError(
      'config_invalid',
      `${key}: ${path === '' ? 'the default kubeconfig' : path} names no current cluster (set current-context)`,
      key,
    );
  }
  return kc;
}
