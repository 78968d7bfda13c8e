import { OUTBOUND_PORT } from './sidecar-container.js';
import type { EnvVar } from './pod-types.js';

/**
 * The proxy variables set in app containers when proxy env is on. Both spellings, since curl
 * and many Unix tools read only the lower-case ones and most runtimes the upper-case ones.
 *
 * NO_PROXY keeps only loopback direct. Names under the cluster domain are deliberately NOT
 * excluded (the usual `.svc,.cluster.local`): `<svc>.<ns>.svc.cluster.local` is exactly the
 * name the hub gives a Kubernetes service, so those calls are the ones the sidecar balances,
 * and a name outside the mesh is passed through to the real host. HTTPS_PROXY is not set, so
 * TLS (the Kubernetes API server included) stays a direct connection.
 */
export function proxyEnv(): EnvVar[] {
  const proxy = `http://127.0.0.1:${OUTBOUND_PORT}`;
  const noProxy = 'localhost,127.0.0.1,::1';
  return [
    { name: 'HTTP_PROXY', value: proxy },
    { name: 'http_proxy', value: proxy },
    { name: 'NO_PROXY', value: noProxy },
    { name: 'no_proxy', value: noProxy },
  ];
}
