/**
 * The `dns` block of the hub's and the sidecar's configs: where the DNS server listens, the
 * resolver names outside the mesh go to, and the limits against abuse.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { durationSchema } from '../common/duration.js';
import { parseNetwork } from '../common/networks.js';

/** `dns.listen: off` turns the DNS server off. */
export const DNS_OFF = 'off';

export interface HostPort {
  host: string;
  port: number;
}

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+))?:(\d{1,5})$/;

/** `10.0.0.1:53`, `[::1]:53`, or `:53` (host undefined); undefined when it is none of them. */
export function parseHostPort(text: string): { host: string | undefined; port: number } | undefined {
  const m = HOST_PORT.exec(text);
  if (m === null) return undefined;
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  if (host !== undefined && isIP(host) !== (m[1] !== undefined ? 6 : 4)) return undefined;
  return { host, port };
}

const LISTEN_ERROR = `must be <IP>:<port> ([::1]:15053 for IPv6), :<port> for the default address, or "${DNS_OFF}"`;
const listenSchema = z.string({ error: LISTEN_ERROR }).refine((s) => s === DNS_OFF || parseHostPort(s) !== undefined, { error: LISTEN_ERROR });

const UPSTREAM_ERROR = 'must be empty, or the IP address of a resolver, with :port if not 53: 10.96.0.10, [fd00::a]:5353';
const upstreamSchema = z.string({ error: UPSTREAM_ERROR }).refine((s) => s === '' || dnsUpstreamAddress(s) !== undefined, { error: UPSTREAM_ERROR });

const NETWORK_ERROR = 'must be an IP address or a network in CIDR form: 127.0.0.1, 10.0.0.0/8, fd00::/8';

const networkSchema = z.string({ error: NETWORK_ERROR }).refine((s) => parseNetwork(s) !== undefined, { error: NETWORK_ERROR });

const count = (max: number) => z.number({ error: `must be an integer from 1 to ${max}` }).int({ error: `must be an integer from 1 to ${max}` }).min(1, { error: `must be an integer from 1 to ${max}` }).max(max, { error: `must be an integer from 1 to ${max}` });

export function dnsConfigSchema(defaultListen: string, listenWhere: string) {
  return z.strictObject({
    listen: listenSchema.default(defaultListen).describe(`Where the DNS server listens, UDP and TCP: <IP>:<port>, or :<port> for ${listenWhere}; "${DNS_OFF}": no DNS server`),
    upstream: upstreamSchema.default('').describe('Resolver (an IP, with :port if not 53) that names outside every served zone are forwarded to; empty: they are answered REFUSED'),
    forward_from: z
      .array(networkSchema)
      .default(['127.0.0.0/8', '::1/128'])
      .describe('Peers (IP addresses or CIDR networks) whose names outside the served zones go to dns.upstream; others get REFUSED, so the server is no open resolver'),
    upstream_timeout: durationSchema({ min: 100, max: 30_000 }).default(2000).describe('How long a forwarded query waits for the upstream resolver before SERVFAIL (default 2s)'),
    max_answers: count(64).default(8).describe('Most A / AAAA or SRV records in one answer, a random subset of the healthy instances (Route 53 answers 8)'),
    rate_limit: count(10_000_000).default(2000).describe('Queries per second one source address may send; more are dropped'),
    rate_burst: count(10_000_000).default(4000).describe('Queries one source may send at once after a quiet period'),
    max_tcp_connections: count(1_000_000).default(1024).describe('Open TCP connections to the DNS server at most'),
  });
}

export type DnsConfig = z.output<ReturnType<typeof dnsConfigSchema>>;

/** Where to listen, or undefined when off; `:port` takes `defaultHost`. */
export function dnsListenAddress(config: DnsConfig, defaultHost: string): HostPort | undefined {
  if (config.listen === DNS_OFF) return undefined;
  const hp = parseHostPort(config.listen)!;
  return { host: hp.host ?? defaultHost, port: hp.port };
}

/** A resolver's address as people write it, `10.96.0.10` or `[fd00::a]:5353`, as host:port; undefined when it is not one. */
export function dnsUpstreamAddress(text: string): string | undefined {
  const family = isIP(text);
  if (family !== 0) return family === 6 ? `[${text}]:53` : `${text}:53`;
  return parseHostPort(text)?.host !== undefined ? text : undefined;
}

export function dnsUpstream(config: DnsConfig): HostPort | undefined {
  if (config.upstream === '') return undefined;
  const hp = parseHostPort(dnsUpstreamAddress(config.upstream)!)!;
  return { host: hp.host!, port: hp.port };
}
