// The xDS server's subscribers, from its own state: node, address, subscriptions, the version
// ACKed per type, NACKs with their reason, time since the last ACK, and the stale flag.
import { Badge, ago, html } from './widgets.js';

function TypeCell({ t }) {
  const what = t.wildcard ? 'all' : t.names.length === 1 ? t.names[0] : `${t.names.length} names`;
  return html`<div class="sub-type">
    <strong>${t.type}</strong> <span class="muted" title=${t.names.join('\n')}>${what}</span>
    <span class="mono"> v${t.acked_version ?? '—'}</span>
    ${t.nack ? html` <${Badge} kind="bad" title=${t.nack.message}>NACK v${t.nack.version}</${Badge}><div class="error small-text">${t.nack.message}</div>` : null}
  </div>`;
}

export function SubscriberTable({ subscribers }) {
  if (subscribers === undefined) return null;
  if (subscribers === null) return html`<section class="card muted">xDS subscribers are shown to tokens that may read metrics (metrics:read).</section>`;
  return html`<section class="subscribers" aria-label="xDS subscribers">
    <div class="section-head"><h2>xDS subscribers</h2><span class="muted">${subscribers.length} streams</span></div>
    <div class="card">
      ${subscribers.length === 0
        ? html`<p class="muted none">No sidecar or proxyless client is subscribed.</p>`
        : html`<table>
            <thead><tr><th>node</th><th>address</th><th>subscriptions · ACKed version</th><th>last ACK</th><th>state</th></tr></thead>
            <tbody>${[...subscribers].sort((a, b) => (a.node === '') - (b.node === '')).map((s) => html`<tr key=${s.stream} data-node=${s.node}>
              <td class="mono">${s.node || html`<span class="muted">(nothing subscribed yet)</span>`}</td>
              <td class="mono">${s.address}</td>
              <td>${s.types.map((t) => html`<${TypeCell} t=${t} />`)}</td>
              <td>${s.last_ack_at ? `${ago(s.last_ack_at)} ago` : '—'}</td>
              <td>${s.stale ? html`<${Badge} kind="bad">stale</${Badge}>` : html`<${Badge} kind="ok">in sync</${Badge}>`}</td>
            </tr>`)}</tbody>
          </table>`}
    </div>
  </section>`;
}
