import test from 'ava';
import { HeaderKind, downstreamResponseRaw, headerKind, isHopByHop, rawHeaderValue, upstreamRequestHeaders } from '../../src/proxy/hop-headers.js';

/** Every case a client may send a name in: as written, upper, and alternating. */
function spellings(lower: string): string[] {
  let alternating = '';
  for (let i = 0; i < lower.length; i++) alternating += i % 2 === 0 ? lower[i]!.toUpperCase() : lower[i]!;
  return [lower, lower.toUpperCase(), alternating];
}

const NAMES = [
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'expect', 'http2-settings', 'content-length', 'host', 'x-forwarded-for',
  'x-forwarded-proto', 'x-forwarded-host', 'content-type', 'date', 'server', 'x-backend', 'accept', 'tf', 'hosts',
  'connectiom', 'x-forwarded-fox', 'proxy-authorizatio', 'content-lengt', 'user-agent',
];

const HOP_KINDS = [HeaderKind.HopByHop, HeaderKind.Te, HeaderKind.TransferEncoding, HeaderKind.Connection];

test('headerKind tells hop-by-hop names apart in any case, as the lower-case set does', (t) => {
  for (const lower of NAMES) {
    for (const name of spellings(lower)) {
      t.is(HOP_KINDS.includes(headerKind(name)), isHopByHop(lower), name);
    }
  }
  t.is(headerKind('Content-Length'), HeaderKind.ContentLength);
  t.is(headerKind('HOST'), HeaderKind.Host);
  t.is(headerKind('X-Forwarded-For'), HeaderKind.XForwardedFor);
  t.is(headerKind('x-FORWARDED-proto'), HeaderKind.XForwardedProto);
  t.is(headerKind('X-Forwarded-Host'), HeaderKind.XForwardedHost);
  t.is(headerKind('Transfer-Encoding'), HeaderKind.TransferEncoding);
  t.is(headerKind('TE'), HeaderKind.Te);
  t.is(headerKind('Connection'), HeaderKind.Connection);
});

test('rawHeaderValue finds a name in any case, and only that name', (t) => {
  const raw = ['HOST', 'a.b', 'Content-Length', '3', 'x-hosts', 'no'];
  t.is(rawHeaderValue(raw, 'host'), 'a.b');
  t.is(rawHeaderValue(raw, 'content-length'), '3');
  t.is(rawHeaderValue(raw, 'content-type'), undefined);
});

test('the upstream request drops hop-by-hop headers in any case and adds x-forwarded-*', (t) => {
  const raw = ['Host', 'svc', 'CONNECTION', 'keep-alive, X-Secret', 'x-secret', 'hop', 'Proxy-Authorization', 'Basic x', 'TE', 'trailers', 'X-Forwarded-For', '10.0.0.9', 'Accept', '*/*'];
  const out = upstreamRequestHeaders(raw, 'keep-alive, X-Secret', { remoteAddress: '127.0.0.1', proto: 'http', host: 'svc', replaceHost: false });
  t.deepEqual(out, ['Host', 'svc', 'te', 'trailers', 'Accept', '*/*', 'x-forwarded-for', '10.0.0.9, 127.0.0.1', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'svc']);
});

test('the downstream response drops hop-by-hop headers in any case and notes its framing', (t) => {
  const h = downstreamResponseRaw(['Server', 'x', 'Content-Length', '5', 'Keep-Alive', 'timeout=5', 'CONNECTION', 'close, X-Gone', 'x-gone', '1', 'Transfer-Encoding', 'chunked']);
  t.deepEqual(h.headers, ['Server', 'x', 'Content-Length', '5']);
  t.true(h.contentLength);
  t.true(h.transferEncoding);
});
