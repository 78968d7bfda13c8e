/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, so a proxy drops them, and
 * also any header the Connection header lists. `x-forwarded-*` are added on the way up. The
 * header lists are built once per request as flat [name, value, ...] arrays, which undici takes
 * without re-parsing.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Dropped on both directions. `expect` is answered by this hop (Node sends 100 Continue). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
]);

export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName);
}

/** What a header name means to this hop; see headerKind(). */
export const enum HeaderKind {
  Other,
  /** Hop-by-hop, other than the kinds below. */
  HopByHop,
  Te,
  TransferEncoding,
  Connection,
  ContentLength,
  Host,
  XForwardedFor,
  XForwardedProto,
  XForwardedHost,
}

/** The names headerKind() tells apart from plain hop-by-hop ones (te, transfer-encoding and connection are hop-by-hop too). */
const KNOWN_NAMES: ReadonlyArray<readonly [string, HeaderKind]> = [
  ['te', HeaderKind.Te],
  ['transfer-encoding', HeaderKind.TransferEncoding],
  ['connection', HeaderKind.Connection],
  ['content-length', HeaderKind.ContentLength],
  ['host', HeaderKind.Host],
  ['x-forwarded-for', HeaderKind.XForwardedFor],
  ['x-forwarded-proto', HeaderKind.XForwardedProto],
  ['x-forwarded-host', HeaderKind.XForwardedHost],
];

/** Candidates by name length: a name of any other length is HeaderKind.Other at once. */
const BY_LENGTH: Array<Array<readonly [string, HeaderKind]> | undefined> = [];
for (const name of HOP_BY_HOP) {
  const known = KNOWN_NAMES.find(([n]) => n === name);
  (BY_LENGTH[name.length] ??= []).push(known ?? [name, HeaderKind.HopByHop]);
}
for (const entry of KNOWN_NAMES) if (!HOP_BY_HOP.has(entry[0])) (BY_LENGTH[entry[0].length] ??= []).push(entry);

/**
 * The kind of a header name as received (any case), without lower-casing it: names are told
 * apart by length first, then compared case-insensitively. llhttp hands over new strings for every
 * message, so `toLowerCase()` and a Set lookup would allocate and hash each name of each message.
 */
export function headerKind(name: string): HeaderKind {
  const candidates = BY_LENGTH[name.length];
  if (candidates === undefined) return HeaderKind.Other;
  for (const [lower, kind] of candidates) if (sameLower(name, lower)) return kind;
  return HeaderKind.Other;
}

/** `name` equals `lower` (lower-case ASCII, same length) ignoring ASCII case. */
function sameLower(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Names the Connection header lists (lower-case), or undefined when there are none to drop. */
export function connectionListed(connection: string | undefined): Set<string> | undefined {
  if (connection === undefined) return undefined;
  // The common values list nothing: no split, trim or lower-casing per message.
  if (connection.length <= 10) {
    const lower = connection.toLowerCase();
    if (lower === 'keep-alive' || lower === 'close' || lower === '') return undefined;
  }
  let listed: Set<string> | undefined;
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive') continue;
    (listed ??= new Set()).add(name);
  }
  return listed;
}

export interface ForwardedInfo {
  /** The downstream peer's address. */
  readonly remoteAddress: string | undefined;
  readonly proto: string;
  /** The authority the client asked for. */
  readonly host: string | undefined;
  /** Absolute-form request: the URI's authority replaces the Host header (RFC 9112 §3.2.2). */
  readonly replaceHost: boolean;
}

/**
 * The upstream request's headers from the downstream raw headers: hop-by-hop dropped, `te: trailers`
 * kept (gRPC needs it end to end), x-forwarded-for appended to, x-forwarded-proto/host set when absent.
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], connection: string | undefined, fwd: ForwardedInfo): string[] {
  const listed = connectionListed(connection);
  const out: string[] = [];
  let xff: string | undefined;
  let hasProto = false;
  let hasHost = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const kind = headerKind(name);
    switch (kind) {
      case HeaderKind.Te:
        if (value.trim().toLowerCase() === 'trailers') out.push('te', 'trailers');
        continue;
      case HeaderKind.HopByHop:
      case HeaderKind.TransferEncoding:
      case HeaderKind.Connection:
        continue;
      default:
    }
    if (listed !== undefined && listed.has(name.toLowerCase())) continue;
    if (kind === HeaderKind.Host && fwd.replaceHost) continue;
    if (kind === HeaderKind.XForwardedFor) {
      xff = xff === undefined ? value : `${xff}, ${value}`;
      continue;
    }
    if (kind === HeaderKind.XForwardedProto) hasProto = true;
    else if (kind === HeaderKind.XForwardedHost) hasHost = true;
    out.push(name, value);
  }
  if (fwd.replaceHost && fwd.host !== undefined) out.push('host', fwd.host);
  if (fwd.remoteAddress !== undefined) xff = xff === undefined ? fwd.remoteAddress : `${xff}, ${fwd.remoteAddress}`;
  if (xff !== undefined) out.push('x-forwarded-for', xff);
  if (!hasProto) out.push('x-forwarded-proto', fwd.proto);
  if (!hasHost && fwd.host !== undefined) out.push('x-forwarded-host', fwd.host);
  return out;
}

/** The downstream response's headers as a flat [name, value, ...] list, hop-by-hop dropped. */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders): string[] {
  const connection = headers['connection'];
  const listed = connectionListed(typeof connection === 'string' ? connection : undefined);
  const out: string[] = [];
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || (listed !== undefined && listed.has(name))) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  return out;
}

/** The first value of a header in a flat raw list (case-insensitive name), or undefined. */
export function rawHeaderValue(rawHeaders: readonly string[], lowerName: string): string | undefined {
  const len = lowerName.length;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === len && sameLower(name, lowerName)) return rawHeaders[i + 1];
  }
  return undefined;
}

/** A response head from llhttp, ready for the downstream: hop-by-hop dropped, framing noted. */
export interface DownstreamResponseHead {
  /** Kept headers, flat [name, value, ...]; Content-Length stays, Transfer-Encoding goes. */
  readonly headers: string[];
  readonly contentLength: boolean;
  readonly transferEncoding: boolean;
}

export function downstreamResponseRaw(rawHeaders: readonly string[]): DownstreamResponseHead {
  const listed = connectionListed(rawHeaderValue(rawHeaders, 'connection'));
  const headers: string[] = [];
  let contentLength = false;
  let transferEncoding = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const kind = headerKind(name);
    if (kind === HeaderKind.TransferEncoding) {
      transferEncoding = true;
      continue;
    }
    if (kind === HeaderKind.HopByHop || kind === HeaderKind.Te || kind === HeaderKind.Connection) continue;
    if (listed !== undefined && listed.has(name.toLowerCase())) continue;
    if (kind === HeaderKind.ContentLength) contentLength = true;
    headers.push(name, rawHeaders[i + 1]!);
  }
  return { headers, contentLength, transferEncoding };
}
