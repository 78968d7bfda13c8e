/**
 * The cluster an app means: `worker.secure-api.local` as written, or a short name (`worker`)
 * resolved in the sidecar's own namespace, as Kubernetes resolves a short Service name.
 */
export function upstreamName(service: string, ownNamespace: string): string {
  return service.includes('.') ? service : `${service}.${ownNamespace}`;
}
