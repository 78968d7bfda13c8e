/**
 * `outrigger status`: whether the mesh is well, from the hub's REST API, as `linkerd check` and
 * `consul members` tell it: which hub replicas answer and are ready, the auth mode, the registry
 * counted by health, the xDS subscribers (stale, NACKing), and warnings. Errors (no hub
 * reachable, credentials refused) and warnings decide the exit code: 2, 1, else 0.
 */
import { OutriggerError } from '../common/errors.js';
import { fetchJson, tlsDispatcher, type HubClient, type HubTlsFiles } from '../http/hub-client.js';
import type { DashboardView } from './rest-dashboard-view.js';
import type { SubscriberJson } from './xds-subscribers.js';

export interface StatusOptions {
  /** One REST base URL per hub replica. */
  hubs: string[];
  token?: string;
  tls?: HubTlsFiles;
}

export interface StatusReport {
  hubs: Array<{ url: string; reachable: boolean; ready: boolean; error?: string }>;
  auth: { mode: 'off' | 'anonymous' | 'token'; identity: string; role: string } | null;
  registry: { namespaces: number; services: number; instances: Record<'total' | 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN' | 'DRAINING', number> } | null;
  /** Null when the caller may not read them (metrics:read). */
  subscribers: { total: number; stale: number; nacking: number } | null;
  self_preservation: boolean | null;
  warnings: string[];
  errors: string[];
  exit_code: 0 | 1 | 2;
}

/** Services with no healthy endpoint named one by one, up to this many. */
const NAMED = 10;

export async function statusReport(options: StatusOptions): Promise<StatusReport> {
  const dispatcher = await tlsDispatcher(options.tls);
  const client: HubClient = { ...(options.token !== undefined ? { token: options.token } : {}), ...(dispatcher !== undefined ? { dispatcher } : {}), hasCa: options.tls?.caFile !== undefined };
  try {
    return await report(options.hubs, client);
  } finally {
    await dispatcher?.close();
  }
}

async function report(urls: string[], client: HubClient): Promise<StatusReport> {
  const out: StatusReport = { hubs: [], auth: null, registry: null, subscribers: null, self_preservation: null, warnings: [], errors: [], exit_code: 0 };
  out.hubs = await Promise.all(
    urls.map(async (url) => {
      try {
        const { status } = await fetchJson(`${url}/ready`, 'hub', client);
        return { url, reachable: true, ready: status === 200 };
      } catch (err) {
        return { url, reachable: false, ready: false, error: (err as Error).message };
      }
    }),
  );
  for (const h of out.hubs) {
    if (!h.reachable) out.warnings.push(`hub ${h.url} is unreachable: ${h.error ?? ''}`);
    else if (!h.ready) out.warnings.push(`hub ${h.url} answers but is not ready`);
  }
  const hub = out.hubs.find((h) => h.reachable);
  if (hub === undefined) {
    out.errors.push(urls.length === 1 ? `the hub ${urls[0]} is unreachable` : `none of the ${urls.length} hubs is reachable`);
    out.warnings = [];
    return finish(out);
  }
  try {
    const who = ((await get(`${hub.url}/api/v1/auth/whoami`, client)) as { data: { name: string; kind: string; role: string } }).data;
    out.auth = { mode: who.kind === 'open' ? 'off' : who.kind === 'anonymous' ? 'anonymous' : 'token', identity: who.name, role: who.role };
    const { view, stats } = ((await get(`${hub.url}/api/v1/dashboard`, client)) as { data: { view: DashboardView; stats: { subscribers: SubscriberJson[] | null; self_preservation: boolean } } }).data;
    read(out, view, stats.subscribers, stats.self_preservation);
  } catch (err) {
    if (!(err instanceof OutriggerError)) throw err;
    out.errors.push(err.message);
  }
  return finish(out);
}

async function get(url: string, client: HubClient): Promise<unknown> {
  const { status, body } = await fetchJson(url, 'hub', client);
  if (status < 200 || status > 299) throw new OutriggerError('unavailable', `the hub answered ${status} for ${url}`);
  return body;
}

function read(out: StatusReport, view: DashboardView, subscribers: SubscriberJson[] | null, selfPreservation: boolean): void {
  const instances = { total: 0, HEALTHY: 0, UNHEALTHY: 0, UNKNOWN: 0, DRAINING: 0 };
  const unhealthy: string[] = [];
  for (const ns of view.namespaces) {
    for (const svc of ns.services) {
      for (const inst of svc.instances) {
        instances.total++;
        instances[inst.health as keyof typeof instances]++;
      }
      if (svc.counts.healthy === 0) unhealthy.push(`${svc.name}.${svc.namespace}`);
    }
  }
  out.registry = { namespaces: view.totals.namespaces, services: view.totals.services, instances };
  out.self_preservation = selfPreservation;
  if (unhealthy.length > 0) {
    const named = unhealthy.slice(0, NAMED).join(', ');
    out.warnings.push(`${unhealthy.length} service(s) with no healthy endpoint: ${named}${unhealthy.length > NAMED ? ', ...' : ''}`);
  }
  if (selfPreservation) out.warnings.push('self-preservation is on: the hub holds back lease expiry (too many leases would expire at once)');
  if (subscribers !== null) {
    const stale = subscribers.filter((s) => s.stale);
    const nacking = subscribers.filter((s) => s.types.some((t) => t.nack !== null));
    out.subscribers = { total: subscribers.length, stale: stale.length, nacking: nacking.length };
    if (stale.length > 0) out.warnings.push(`${stale.length} stale xDS subscriber(s): ${stale.slice(0, NAMED).map((s) => s.node || s.address).join(', ')}`);
    for (const s of nacking.slice(0, NAMED)) {
      const t = s.types.find((x) => x.nack !== null)!;
      out.warnings.push(`xDS subscriber ${s.node || s.address} NACKed ${t.type} version ${t.nack!.version}: ${t.nack!.message}`);
    }
  }
}

function finish(out: StatusReport): StatusReport {
  out.exit_code = out.errors.length > 0 ? 2 : out.warnings.length > 0 ? 1 : 0;
  return out;
}

/** The report as an operator reads it. */
export function formatStatus(r: StatusReport): string {
  const lines = ['Hubs:'];
  for (const h of r.hubs) lines.push(`  ${h.reachable ? (h.ready ? 'ok  ' : 'warn') : 'FAIL'}  ${h.url}  ${h.reachable ? (h.ready ? 'reachable, ready' : 'reachable, not ready') : 'unreachable'}`);
  if (r.auth !== null) lines.push(`Auth: ${r.auth.mode === 'off' ? 'off (anyone may do anything)' : r.auth.mode === 'anonymous' ? `on; no token given, the anonymous policy answers (${r.auth.role})` : `on; token ${r.auth.identity} (${r.auth.role})`}`);
  if (r.registry !== null) {
    const i = r.registry.instances;
    lines.push(`Registry: ${r.registry.namespaces} namespace(s), ${r.registry.services} service(s), ${i.total} instance(s): ${i.HEALTHY} healthy, ${i.UNHEALTHY} unhealthy, ${i.UNKNOWN} unknown, ${i.DRAINING} draining`);
    lines.push(`Self-preservation: ${r.self_preservation === true ? 'ON' : 'off'}`);
    lines.push(r.subscribers !== null ? `xDS subscribers: ${r.subscribers.total}, ${r.subscribers.stale} stale, ${r.subscribers.nacking} with NACKs` : 'xDS subscribers: not shown (the token may not read metrics: metrics:read on everything)');
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  for (const e of r.errors) lines.push(`error: ${e}`);
  lines.push(`Status: ${r.exit_code === 0 ? 'OK' : r.exit_code === 1 ? `WARNINGS (${r.warnings.length})` : 'ERROR'}`);
  return lines.join('\n') + '\n';
}
