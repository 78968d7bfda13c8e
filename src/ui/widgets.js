// Small pieces both dashboards use: htm bound to preact, badges and time formatting.
import { h, render } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
export { render };

const HEALTH_CLASS = { HEALTHY: 'ok', UNHEALTHY: 'bad', UNKNOWN: 'muted', DRAINING: 'warn' };

export function HealthBadge({ health }) {
  return html`<span class="badge ${HEALTH_CLASS[health] ?? 'muted'}" data-health=${health}>${health}</span>`;
}

export function Badge({ kind = 'muted', children, title }) {
  return html`<span class="badge ${kind}" title=${title}>${children}</span>`;
}

/** "3 s", "4 min", "2 h", "5 d": how long ago (or how long) in one short unit. */
export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

export const ago = (iso, now = Date.now()) => (iso ? duration(now - Date.parse(iso)) : '—');

export function seconds(s) {
  if (s === null || s === undefined) return '—';
  return s < 1 ? `${(s * 1000).toFixed(s < 0.01 ? 1 : 0)} ms` : `${s.toFixed(2)} s`;
}

export const rate = (n) => (n >= 10 ? n.toFixed(0) : n.toFixed(1));

export function Stat({ label, value, detail, kind = '' }) {
  return html`<div class="stat ${kind}"><div class="stat-label">${label}</div><div class="stat-value">${value}</div>${detail ? html`<div class="stat-detail">${detail}</div>` : null}</div>`;
}

export function Header({ title, subtitle, status, right }) {
  return html`<header class="top">
    <div class="brand"><svg class="logo" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M2 14h20l-3 4H5z" fill="#58a6ff"/><path d="M4 10h16" stroke="#9fb3c8" stroke-width="1.6"/><path d="M8 10v4M16 10v4" stroke="#9fb3c8" stroke-width="1.6"/><ellipse cx="12" cy="7" rx="7" ry="1.6" fill="#3fb950"/></svg><span class="brand-name">Outrigger</span><span class="brand-page">${title}</span></div>
    <div class="top-sub">${subtitle}</div>
    <div class="top-right"><span class="live ${status}" data-status=${status}>${status === 'live' ? '● live' : status === 'connecting' ? '○ connecting' : `○ ${status}`}</span>${right}</div>
  </header>`;
}
