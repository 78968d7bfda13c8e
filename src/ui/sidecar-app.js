// The sidecar dashboard (admin port, loopback only): per cluster, its endpoints with health,
// ejection, load, latency and success rate; the breaker; and the last requests, as
// `linkerd viz tap` shows them. Fed by GET /clusters/stream (Server-Sent Events, every second).
import { useEffect, useState } from 'preact/hooks';
import { streamEvents } from './api.js';
import { Badge, Header, HealthBadge, html, render } from './widgets.js';

const RETRY_MS = 1000;

function useClusters() {
  const [state, setState] = useState({ status: 'connecting', data: undefined });
  useEffect(() => {
    const abort = new AbortController();
    let timer;
    const connect = () => {
      streamEvents('/clusters/stream', (event, data) => {
        if (event === 'clusters') setState({ status: 'live', data });
      }, abort.signal).then(retry, retry);
    };
    const retry = () => {
      if (abort.signal.aborted) return;
      setState((s) => ({ ...s, status: 'offline' }));
      timer = setTimeout(connect, RETRY_MS);
    };
    connect();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, []);
  return state;
}

function Breakers({ cb }) {
  if (!cb) return null;
  return html`<div class="breakers">${Object.entries(cb).map(([name, r]) => html`<span class="breaker" data-breaker=${name}>
    <span class="muted">${name.replace('_', ' ')}</span> ${r.active}/${r.limit}
    ${r.open ? html` <${Badge} kind="bad">open</${Badge}>` : null}
    ${r.overflows > 0 ? html` <${Badge} kind="warn" title="calls refused by this limit">${r.overflows} overflows</${Badge}>` : null}
  </span>`)}</div>`;
}

function Ejection({ ep, now }) {
  if (ep.outlier_state !== 'ejected') return ep.ejections > 0 ? html`<span class="muted">active · ${ep.ejections} ejections</span>` : html`<span class="muted">active</span>`;
  const left = ep.readmit_at ? Math.max(0, Math.ceil((Date.parse(ep.readmit_at) - now) / 1000)) : undefined;
  return html`<${Badge} kind="bad" title=${ep.last_ejection_reason ?? ''}>ejected</${Badge}><div class="since">${left !== undefined ? `readmitted in ${left} s` : ''}${ep.last_ejection_reason ? ` · ${ep.last_ejection_reason}` : ''}</div>`;
}

function SuccessRate({ rate, requests }) {
  if (rate === null || rate === undefined) return html`<span class="muted">—</span>`;
  const pct = Math.round(rate * 1000) / 10;
  return html`<span class="bar-bg"><span class="bar" style=${{ width: `${pct}%` }}></span></span><span class=${rate < 0.95 ? 'bad-text' : ''}>${pct}%</span><div class="since">${requests} req / min</div>`;
}

function Endpoints({ cluster, now }) {
  const live = new Map((cluster.data_plane_endpoints ?? []).map((e) => [e.id, e]));
  const rows = cluster.endpoints.map((e) => ({ ...e, ...(live.get(e.id) ?? {}) }));
  if (rows.length === 0) return html`<p class="muted none">No endpoints.</p>`;
  return html`<table>
    <thead><tr><th>endpoint</th><th>address</th><th>health</th><th>outlier detection</th><th>active</th><th>latency (EWMA)</th><th>success · last minute</th><th>zone</th><th>weight</th></tr></thead>
    <tbody>${rows.map((e) => html`<tr key=${e.id} data-endpoint=${e.id} data-outlier=${e.outlier_state ?? 'active'}>
      <td class="mono">${e.id}</td>
      <td class="mono">${e.address}:${e.port}</td>
      <td><${HealthBadge} health=${e.health} /></td>
      <td><${Ejection} ep=${e} now=${now} /></td>
      <td>${e.active_requests ?? 0}</td>
      <td>${e.latency_ewma_ms === null || e.latency_ewma_ms === undefined ? html`<span class="muted">—</span>` : `${e.latency_ewma_ms.toFixed(1)} ms`}</td>
      <td><${SuccessRate} rate=${e.success_rate_last_minute} requests=${e.requests_last_minute ?? 0} /></td>
      <td>${e.zone || html`<span class="muted">—</span>`}</td>
      <td>${e.weight}</td>
    </tr>`)}</tbody>
  </table>`;
}

function Requests({ requests }) {
  if (!requests || requests.length === 0) return html`<p class="muted none">No requests yet.</p>`;
  return html`<div class="ring-box"><table class="ring">
    <thead><tr><th>time</th><th>method</th><th>authority</th><th>path</th><th>code</th><th>endpoint</th><th>duration</th><th>retries</th></tr></thead>
    <tbody>${requests.map((r, i) => html`<tr key=${i} data-request>
      <td class="mono">${r.at.slice(11, 23)}</td>
      <td>${r.method}</td>
      <td class="mono">${r.authority}</td>
      <td class="mono path">${r.path}</td>
      <td class=${`code-${String(r.status)[0]}`}>${r.status === 0 ? 'reset' : r.status}</td>
      <td class="mono">${r.endpoint || html`<span class="muted">—</span>`}</td>
      <td>${r.durationMs.toFixed(1)} ms</td>
      <td>${r.retries > 0 ? html`<${Badge} kind="warn">${r.retries}</${Badge}>` : '0'}</td>
    </tr>`)}</tbody>
  </table></div>`;
}

function ClusterCard({ cluster, now }) {
  const healthy = cluster.endpoints.filter((e) => e.health === 'HEALTHY').length;
  const ejected = (cluster.data_plane_endpoints ?? []).filter((e) => e.outlier_state === 'ejected').length;
  return html`<section class="card cluster" data-cluster=${cluster.name}>
    <div class="service-head">
      <h3>${cluster.name}</h3>
      <${Badge} kind=${healthy === 0 ? 'bad' : healthy < cluster.endpoints.length ? 'warn' : 'ok'}>${healthy} / ${cluster.endpoints.length} healthy</${Badge}>
      ${ejected > 0 ? html`<${Badge} kind="bad">${ejected} ejected</${Badge}>` : null}
      <span class="muted">${cluster.status} · from ${cluster.source ?? '—'} · lb ${cluster.lb_policy ?? '—'}${cluster.routing_mode ? ` · ${cluster.routing_mode}` : ''}${cluster.local_port ? ` · local port ${cluster.local_port}` : ''}</span>
    </div>
    <div class="config"><span class="muted">circuit breakers</span> <${Breakers} cb=${cluster.circuit_breakers} /></div>
    <${Endpoints} cluster=${cluster} now=${now} />
    <h4>Last requests <span class="muted">(newest first, at most 100)</span></h4>
    <${Requests} requests=${cluster.recent_requests} />
  </section>`;
}

function App() {
  const { status, data } = useClusters();
  const now = Date.now();
  const stale = data?.stale_age_ms;
  return html`
    <${Header} title="sidecar" subtitle=${data ? (stale ? `peer config stale for ${Math.round(stale / 1000)} s` : 'peer config in sync with the hub') : ''} status=${status} right=${null} />
    <main>
      ${data === undefined
        ? html`<div class="empty">Connecting to the sidecar…</div>`
        : data.clusters.length === 0
          ? html`<div class="card muted">This sidecar calls no cluster yet: clusters appear once the app calls one (or as declared in upstreams).</div>`
          : data.clusters.map((c) => html`<${ClusterCard} key=${c.name} cluster=${c} now=${now} />`)}
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
