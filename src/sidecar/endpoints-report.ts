import { OutriggerError } from '../common/errors.js';
import { fetchJson, getJson, tlsDispatcher, type HubClient, type HubTlsFiles } from '../http/hub-client.js';
import { splitServiceKey } from '../model/names.js';
import { parseClusterName } from './cluster-name.js';

interface Row {
  id: string;
  address: string;
  port: number;
  health: string;
  weight: number;
  zone: string;
  version: string;
}

interface HubInstance extends Row {}
interface SidecarCluster {
  name: string;
  source?: string;
  endpoints_version?: string;
  endpoints: Row[];
}

export interface EndpointsReportOptions {
  /** The hub's REST base URL, http:// or https://. */
  hub: string;
  /** The sidecar admin base URL, for its view beside the hub's. */
  sidecar?: string;
  token?: string;
  tls?: HubTlsFiles;
}

/** Throws not_found when the hub has no such service: "0 instances" would read as "exists, empty". */
async function requireService(hub: string, service: string, namespace: string, client: HubClient): Promise<void> {
  const url = `${hub}/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}`;
  const { status, body } = await fetchJson(url, 'hub', client);
  if (status === 404) {
    const noNamespace = (body as { error?: { field?: string } } | undefined)?.error?.field === 'namespace';
    throw new OutriggerError('not_found', `service ${service} in namespace ${namespace} does not exist${noNamespace ? ' (nor does the namespace)' : ''} at the hub ${hub}`, 'service');
  }
  if (status < 200 || status > 299) throw new OutriggerError('unavailable', `the hub answered ${status} for ${url}`);
}

/**
 * The hub's view of a service and, when a sidecar is named, that sidecar's view beside it, as
 * a table: stale endpoints show as rows the two sides disagree on.
 */
export async function endpointsReport(name: string, options: EndpointsReportOptions): Promise<string> {
  const { hub, sidecar, token } = options;
  const parts = splitServiceKey(parseClusterName(name, 'service'))!;
  const dispatcher = await tlsDispatcher(options.tls);
  const client: HubClient = { ...(token !== undefined ? { token } : {}), ...(dispatcher !== undefined ? { dispatcher } : {}), hasCa: options.tls?.caFile !== undefined };
  try {
    return await report(name, parts, hub, sidecar, client);
  } finally {
    await dispatcher?.close();
  }
}

async function report(name: string, parts: { service: string; namespace: string }, hub: string, sidecar: string | undefined, client: HubClient): Promise<string> {
  await requireService(hub, parts.service, parts.namespace, client);
  const hubBody = (await getJson(
    `${hub}/api/v1/discover?service_name=${encodeURIComponent(parts.service)}&namespace=${encodeURIComponent(parts.namespace)}&healthy_only=false`,
    'hub',
    client,
  )) as { data: { services: HubInstance[]; registry_version: number } };
  const hubRows = new Map(hubBody.data.services.map((i) => [i.id, i]));
  let local: SidecarCluster | undefined;
  if (sidecar !== undefined) {
    const body = (await getJson(`${sidecar}/clusters`, 'sidecar')) as { clusters: SidecarCluster[] };
    local = body.clusters.find((c) => c.name === name);
  }
  const localRows = new Map((local?.endpoints ?? []).map((e) => [e.id, e]));
  const ids = [...new Set([...hubRows.keys(), ...localRows.keys()])].sort();
  const cell = (r: Row | undefined): string[] => (r === undefined ? ['-', '-', '-', '-'] : [r.health, String(r.weight), r.zone || '-', r.version || '-']);
  const header = ['INSTANCE', 'ADDRESS', 'HUB HEALTH', 'WEIGHT', 'ZONE', 'VERSION'];
  if (sidecar !== undefined) header.push('SIDECAR HEALTH', 'WEIGHT', 'ZONE', 'VERSION', '');
  const rows = ids.map((id) => {
    const h = hubRows.get(id);
    const l = localRows.get(id);
    const any = h ?? l!;
    const row = [id, `${any.address}:${any.port}`, ...cell(h)];
    if (sidecar !== undefined) {
      const same = h !== undefined && l !== undefined && h.health === l.health && h.weight === l.weight && h.address === l.address && h.port === l.port;
      row.push(...cell(l), same ? '' : 'STALE');
    }
    return row;
  });
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? '').length)));
  const render = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const lines = [`${name}: hub registry version ${hubBody.data.registry_version}, ${hubRows.size} instance(s)`];
  if (sidecar !== undefined) {
    lines.push(
      local === undefined
        ? `sidecar ${sidecar}: does not hold ${name}`
        : `sidecar ${sidecar}: endpoints version ${local.endpoints_version ?? '-'} (from ${local.source ?? '-'}), ${localRows.size} endpoint(s)`,
    );
  }
  lines.push('', render(header), ...rows.map(render));
  return lines.join('\n') + '\n';
}
