/**
 * The names a workload identity is made of. Kubernetes namespaces are DNS labels and
 * ServiceAccount names DNS subdomains; SPIFFE path segments are letters, digits, `.`, `-`, `_`.
 * Checking them before use keeps a name like `pay*` from ever becoming a wildcard scope.
 */

const NAMESPACE = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const SERVICE_ACCOUNT = '[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?';

/** `system:serviceaccount:<namespace>:<name>`, the user a TokenReview authenticates. */
export const SERVICE_ACCOUNT_USER = new RegExp(`^system:serviceaccount:(${NAMESPACE}):(${SERVICE_ACCOUNT})$`);

/** A SPIFFE id: `spiffe://<trust domain>/<path>`, with no wildcard or empty segment. */
export const SPIFFE_ID = /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)+$/;

const SPIFFE_WORKLOAD = new RegExp(`^spiffe://([a-z0-9._-]+)/ns/(${NAMESPACE})/sa/(${SERVICE_ACCOUNT})$`);

/** A Kubernetes namespace and ServiceAccount, from a TokenReview or a SPIFFE id. */
export interface Workload {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** The workload of a SPIFFE id in the trust domain, if it names one. */
export function spiffeWorkload(id: string, trustDomain: string): Workload | undefined {
  const m = SPIFFE_WORKLOAD.exec(id);
  if (m === null || m[1] !== trustDomain) return undefined;
  return { namespace: m[2]!, serviceAccount: m[3]! };
}

/** The workload of a ServiceAccount user name, if it is one. */
export function serviceAccountWorkload(user: string): Workload | undefined {
  const m = SERVICE_ACCOUNT_USER.exec(user);
  return m === null ? undefined : { namespace: m[1]!, serviceAccount: m[2]! };
}
