// Namespaces → services → instances, with the actions the caller's role allows: drain an
// instance, set its weight, change a service's lb policy. Each goes through the REST API, which
// checks the caller again and validates the input; its error is shown beside the control.
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { Badge, HealthBadge, ago, duration, html } from './widgets.js';

/** Services drawn at once: the rest are a filter away, so a registry of thousands stays quick. */
const SHOWN = 100;

function useAction() {
  const [state, setState] = useState({ busy: false, error: undefined });
  const run = async (fn) => {
    setState({ busy: true, error: undefined });
    try {
      await fn();
      setState({ busy: false, error: undefined });
    } catch (err) {
      setState({ busy: false, error: err.message });
    }
  };
  return [state, run];
}

function Lease({ lease }) {
  if (lease.kind === 'session') return html`<${Badge} kind="info" title="A Session stream holds the lease">Session</${Badge}>`;
  if (lease.kind === 'none') return html`<span class="muted">no lease</span>`;
  return html`<span class=${lease.expired ? 'bad-text' : ''} title=${`TTL ${duration(lease.ttl_ms)}`}>renewed ${duration(lease.age_ms)} ago${lease.expired ? ' · expired' : ''}</span>`;
}

function WeightControl({ inst, can }) {
  const [value, setValue] = useState(String(inst.weight));
  const [state, run] = useAction();
  if (!can) return html`<span>${inst.weight}</span>`;
  const submit = (e) => {
    e.preventDefault();
    run(() => api('PUT', `/api/v1/services/${encodeURIComponent(inst.id)}/weight`, { weight: Number(value) }));
  };
  return html`<form class="inline" onSubmit=${submit}>
    <input class="weight" type="number" aria-label=${`weight of ${inst.id}`} value=${value} onInput=${(e) => setValue(e.currentTarget.value)} />
    <button type="submit" class="small" disabled=${state.busy || value === String(inst.weight)} data-action="weight">Set</button>
    ${state.error ? html`<div class="error" role="alert">${state.error}</div>` : null}
  </form>`;
}

function DrainButton({ inst }) {
  const [state, run] = useAction();
  const drain = () => run(() => api('PUT', `/api/v1/services/${encodeURIComponent(inst.id)}/health`, { health: 'DRAINING' }));
  return html`<div class="action">
    <button class="small warn" data-action="drain" disabled=${state.busy || inst.health === 'DRAINING'} onClick=${drain}>Drain</button>
    ${state.error ? html`<div class="error" role="alert">${state.error}</div>` : null}
  </div>`;
}

function InstanceRow({ inst, can }) {
  return html`<tr data-instance=${inst.id}>
    <td class="mono">${inst.id}</td>
    <td class="mono">${inst.address}:${inst.port}<span class="muted"> ${inst.protocol}</span></td>
    <td><${HealthBadge} health=${inst.health} /><div class="since">for ${ago(inst.health_since)}</div></td>
    <td>${inst.zone || html`<span class="muted">—</span>`}</td>
    <td>${inst.version || html`<span class="muted">—</span>`}</td>
    <td><${WeightControl} inst=${inst} can=${can.instance_write} /></td>
    <td>${inst.source}</td>
    <td><${Lease} lease=${inst.lease} /></td>
    ${can.instance_write ? html`<td><${DrainButton} inst=${inst} /></td>` : null}
  </tr>`;
}

function PolicyControl({ svc, policies }) {
  const [value, setValue] = useState(svc.config.lb_policy);
  const [state, run] = useAction();
  if (!svc.can.service_write) return html`<span class="policy">${svc.config.lb_policy}</span>`;
  const apply = (e) => {
    e.preventDefault();
    run(async () => {
      const path = `/api/v1/namespaces/${encodeURIComponent(svc.namespace)}/services/${encodeURIComponent(svc.name)}`;
      // PUT replaces the whole config: start from the current one; the old policy's options do not apply to the new one.
      const current = await api('GET', path);
      await api('PUT', path, { ...current.config, lb_policy: value, lb_options: value === current.config.lb_policy ? current.config.lb_options : {} });
    });
  };
  return html`<form class="inline" onSubmit=${apply}>
    <select aria-label=${`lb policy of ${svc.name}`} value=${value} onChange=${(e) => setValue(e.currentTarget.value)}>
      ${policies.map((p) => html`<option value=${p}>${p}</option>`)}
    </select>
    <button type="submit" class="small" data-action="lb-policy" disabled=${state.busy || value === svc.config.lb_policy}>Apply</button>
    ${state.error ? html`<div class="error" role="alert">${state.error}</div>` : null}
  </form>`;
}

function options(o) {
  const entries = Object.entries(o ?? {});
  return entries.length === 0 ? 'defaults' : entries.map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' · ');
}

function ServiceCard({ svc, policies }) {
  const cb = svc.config.circuit_breakers;
  const od = svc.config.outlier_detection;
  const healthy = svc.counts.healthy;
  const kind = svc.counts.total === 0 ? 'muted' : healthy === 0 ? 'bad' : healthy < svc.counts.total ? 'warn' : 'ok';
  return html`<section class="card service" data-service=${`${svc.name}.${svc.namespace}`}>
    <div class="service-head">
      <h3>${svc.name}<span class="muted">.${svc.namespace}</span></h3>
      <${Badge} kind=${kind} title="healthy / total instances">${healthy} / ${svc.counts.total} healthy</${Badge}>
      <div class="service-policy"><span class="muted">lb</span> <${PolicyControl} svc=${svc} policies=${policies} /></div>
    </div>
    <dl class="config">
      <div><dt>lb options</dt><dd>${options(svc.config.lb_options)}</dd></div>
      <div><dt>circuit breakers</dt><dd>connections ${cb.max_connections} · pending ${cb.max_pending_requests} · requests ${cb.max_requests} · retries ${cb.max_retries}</dd></div>
      <div><dt>outlier detection</dt><dd>${od.enabled ? `${od.consecutive_5xx} consecutive 5xx · every ${duration(od.interval_ms)} · eject ${duration(od.base_ejection_time_ms)} · at most ${od.max_ejection_percent}%${od.success_rate ? ' · success rate' : ''}` : 'off'}</dd></div>
    </dl>
    ${svc.instances.length === 0
      ? html`<p class="muted none">No instances registered.</p>`
      : html`<table class="instances">
          <thead><tr><th>instance</th><th>address</th><th>health</th><th>zone</th><th>version</th><th>weight</th><th>source</th><th>lease</th>${svc.can.instance_write ? html`<th></th>` : null}</tr></thead>
          <tbody>${svc.instances.map((inst) => html`<${InstanceRow} key=${inst.id} inst=${inst} can=${svc.can} />`)}</tbody>
        </table>`}
  </section>`;
}

export function ServiceList({ view }) {
  const [filter, setFilter] = useState('');
  const f = filter.trim().toLowerCase();
  const all = view.namespaces.flatMap((ns) => ns.services);
  const matching = f === '' ? all : all.filter((s) => `${s.name}.${s.namespace}`.includes(f) || s.instances.some((i) => i.id.toLowerCase().includes(f)));
  const shown = matching.slice(0, SHOWN);
  const byNamespace = new Map();
  for (const s of shown) byNamespace.set(s.namespace, [...(byNamespace.get(s.namespace) ?? []), s]);
  return html`<section class="services" aria-label="Services">
    <div class="section-head">
      <h2>Services</h2>
      <input class="filter" type="search" placeholder="Filter services and instances" aria-label="Filter services" value=${filter} onInput=${(e) => setFilter(e.currentTarget.value)} />
      <span class="muted">${matching.length > shown.length ? `showing ${shown.length} of ${matching.length}; filter to narrow` : `${matching.length} of ${all.length}`}</span>
    </div>
    ${[...byNamespace].map(([ns, services]) => html`<div class="namespace" data-namespace=${ns}>
      <h2 class="ns-name"><span class="muted">namespace</span> ${ns}</h2>
      ${services.map((svc) => html`<${ServiceCard} key=${svc.name} svc=${svc} policies=${view.lb_policies} />`)}
    </div>`)}
    ${all.length === 0 ? html`<p class="card muted">No services yet, or none this token may read.</p>` : null}
  </section>`;
}
