// The hub dashboard: the registry as the caller may read it, live through the hub's
// Server-Sent Events (GET /api/v1/dashboard?watch=true), with the stats and the xDS subscribers.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, streamEvents, tokenStore } from './api.js';
import { Header, Stat, html, rate, render, seconds } from './widgets.js';
import { ServiceList } from './hub-services.js';
import { SubscriberTable } from './hub-subscribers.js';

/** Reconnect delays after a stream drops (the hub restarting, a proxy timing out). */
const RETRY_MS = [500, 1000, 2000, 5000];

function useDashboard(token) {
  const [state, setState] = useState({ status: 'connecting', view: undefined, stats: undefined, error: undefined });
  useEffect(() => {
    const abort = new AbortController();
    let attempt = 0;
    let timer;
    const connect = () => {
      setState((s) => ({ ...s, status: 'connecting' }));
      streamEvents('/api/v1/dashboard?watch=true', (event, data) => {
        attempt = 0;
        if (event === 'view') setState((s) => ({ ...s, status: 'live', view: data, error: undefined }));
        else if (event === 'stats') setState((s) => ({ ...s, stats: data }));
        else if (event === 'error') setState((s) => ({ ...s, status: 'login', error: data.error?.message }));
      }, abort.signal).then(
        () => retry(),
        (err) => {
          if (abort.signal.aborted) return;
          if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
            setState((s) => ({ ...s, status: 'login', error: err.status === 403 || tokenStore.get() !== undefined ? err.message : undefined }));
            return;
          }
          retry();
        },
      );
    };
    const retry = () => {
      if (abort.signal.aborted) return;
      setState((s) => ({ ...s, status: 'offline' }));
      timer = setTimeout(connect, RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]);
    };
    connect();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [token]);
  return state;
}

function Login({ error, onToken }) {
  const [value, setValue] = useState('');
  const submit = (e) => {
    e.preventDefault();
    if (value.trim() !== '') onToken(value.trim());
  };
  return html`<main class="login">
    <form class="card login-card" onSubmit=${submit}>
      <h1>Sign in to the hub</h1>
      <p>The hub needs a token to show the registry. It is kept in this browser tab only (sessionStorage) and sent as a bearer token.</p>
      <label for="token">Token</label>
      <input id="token" name="token" type="password" autocomplete="off" placeholder="ort_…" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} />
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <button type="submit" class="primary">Sign in</button>
      <p class="hint"><code>outrigger demo</code> prints an admin token; <code>POST /api/v1/auth/tokens</code> makes a viewer or operator token.</p>
    </form>
  </main>`;
}

function StatsRow({ view, stats }) {
  const t = view.totals;
  const subs = stats?.subscribers;
  const stale = subs ? subs.filter((s) => s.stale).length : 0;
  const nacks = subs ? subs.filter((s) => s.types.some((ty) => ty.nack)).length : 0;
  return html`<section class="stats" aria-label="Mesh summary">
    <${Stat} label="Namespaces" value=${t.namespaces} />
    <${Stat} label="Services" value=${t.services} />
    <${Stat} label="Instances" value=${html`${t.healthy}<small> / ${t.instances}</small>`} detail="healthy / total" kind=${t.healthy < t.instances ? 'warn' : ''} />
    <${Stat} label="Subscribers" value=${subs ? subs.length : '—'} detail=${subs ? `${stale} stale · ${nacks} with NACKs` : 'needs metrics:read'} kind=${stale > 0 || nacks > 0 ? 'bad' : ''} />
    <${Stat} label="Pushes" value=${stats ? `${rate(stats.push_rate)}/s` : '—'} detail=${stats ? `${stats.pushes_total} in all` : ''} />
    <${Stat} label="Push latency" value=${stats ? html`${seconds(stats.push_latency_p50)}<small> p50</small>` : '—'} detail=${stats ? `p99 ${seconds(stats.push_latency_p99)}` : ''} />
    <${Stat} label="Registrations" value=${stats ? `${rate(stats.registration_rate)}/s` : '—'} detail=${stats ? `${stats.registrations_total} in all` : ''} />
  </section>`;
}

function App() {
  const [token, setToken] = useState(tokenStore.get());
  const state = useDashboard(token);
  const signIn = (t) => {
    tokenStore.set(t);
    setToken(t);
  };
  const signOut = () => {
    tokenStore.clear();
    setToken(undefined);
  };
  if (state.status === 'login' || (state.view === undefined && state.status === 'login')) return html`<${Login} error=${state.error} onToken=${signIn} />`;
  const view = state.view;
  const who = view ? html`<span class="who" data-role=${view.identity.role}>${view.identity.name} · ${view.identity.role}</span>` : null;
  const right = html`${who}${token !== undefined ? html`<button class="link" onClick=${signOut}>Sign out</button>` : null}`;
  return html`
    <${Header} title="hub" subtitle=${view ? `registry version ${view.registry_version}` : ''} status=${state.status} right=${right} />
    ${view === undefined
      ? html`<main class="empty">Connecting to the hub…</main>`
      : html`<main>
          ${(state.stats?.self_preservation ?? view.self_preservation)
            ? html`<div class="banner warn" role="alert" id="self-preservation"><strong>Self-preservation is on.</strong> Too many leases would expire at once, so the hub holds back expiry: instances that stopped renewing stay registered until renewals recover.</div>`
            : null}
          <${StatsRow} view=${view} stats=${state.stats} />
          <${ServiceList} view=${view} />
          <${SubscriberTable} subscribers=${state.stats?.subscribers} />
        </main>`}
  `;
}

render(html`<${App} />`, document.getElementById('app'));
