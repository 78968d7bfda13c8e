/**
 * Reading where a request wants to go: the absolute form of a forward-proxy request
 * (`GET http://worker.secure-api.local/x`), or the Host header of an origin-form request, or a
 * CONNECT authority. A short name (`worker`) is in the sidecar's own namespace.
 */
import { isIP } from 'node:net';
import { qualifiedServiceName } from '../model/names.js';

export interface RequestTarget {
  /** Lower-case host name or IP, without brackets or port. */
  readonly host: string;
  readonly port: number | undefined;
  /** Path with query, origin form. */
  readonly path: string;
  /** The authority as the client wrote it (for x-forwarded-host and passthrough). */
  readonly authority: string;
  /** Absolute form (the client uses us as its HTTP proxy). */
  readonly absolute: boolean;
}

/** Splits `host[:port]` / `[v6]:port`; undefined when malformed (brackets hold only an IPv6 address). */
export function splitAuthority(authority: string): { host: string; port: number | undefined } | undefined {
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) return undefined;
    host = authority.slice(1, end);
    if (isIP(host) !== 6) return undefined;
    const rest = authority.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return undefined;
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
  }
  if (host === '') return undefined;
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  }
  return { host: host.toLowerCase(), port };
}

export function parseRequestTarget(url: string, hostHeader: string | undefined): RequestTarget | undefined {
  if (url.charCodeAt(0) === 47 /* '/' */) {
    if (hostHeader === undefined) return undefined;
    const a = splitAuthority(hostHeader);
    return a === undefined ? undefined : { host: a.host, port: a.port, path: url, authority: hostHeader, absolute: false };
  }
  const lower = url.slice(0, 7).toLowerCase();
  if (lower !== 'http://') return undefined; // https:// goes through CONNECT; anything else is malformed
  // The authority ends at the first "/", "?" or "#" (RFC 3986 3.2), as URL parsers read it: in
  // `http://a?@b/` the host is a, never b.
  let end = 7;
  for (; end < url.length; end++) {
    const c = url.charCodeAt(end);
    if (c === 47 /* '/' */ || c === 63 /* '?' */ || c === 35 /* '#' */) break;
  }
  const authority = url.slice(7, end);
  const at = authority.lastIndexOf('@'); // userinfo is not forwarded
  const hostPort = at < 0 ? authority : authority.slice(at + 1);
  const a = splitAuthority(hostPort);
  if (a === undefined) return undefined;
  const rest = url.slice(end);
  const path = rest.startsWith('/') ? rest : `/${rest}`; // `http://a?q` asks for `/?q`
  return { host: a.host, port: a.port, path, authority: hostPort, absolute: true };
}

/**
 * The cluster name a host stands for: `worker` → `worker.<namespace>`; a dotted name is taken as
 * `<service>.<namespace>`; IP literals and `localhost` are never services.
 */
export function clusterNameFor(host: string, namespace: string): string | undefined {
  if (host === 'localhost' || (mayBeIp(host) && isIP(host) !== 0)) return undefined;
  return qualifiedServiceName(host.endsWith('.') ? host.slice(0, -1) : host, namespace);
}

/**
 * False when `host` cannot be an IP literal, so the hot path skips isIP's regular expressions: an
 * IPv6 literal has a ':', an IPv4 literal only digits and dots.
 */
function mayBeIp(host: string): boolean {
  if (host.includes(':')) return true;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c !== 46 /* '.' */ && (c < 48 || c > 57)) return false;
  }
  return true;
}
