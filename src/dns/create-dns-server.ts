/**
 * The one way the hub and the sidecar build their DNS server from their `dns` config block: the
 * same limits, the same forwarding, only the source (and the listen address) differ.
 */
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { networkList } from '../common/networks.js';
import { DnsResponder } from './dns-answer.js';
import { DnsForwarder } from './dns-forwarder.js';
import { DnsServer, type DnsCounters } from './dns-server.js';
import type { DnsSource } from './dns-source.js';

/** The `dns` keys both configs share (snake_case, as parsed). */
export interface DnsSettings {
  upstream_timeout: number;
  max_answers: number;
  rate_limit: number;
  rate_burst: number;
  max_tcp_connections: number;
  forward_from: readonly string[];
}

/** Forwards in flight at most; beyond it a query for a name outside the mesh is SERVFAIL at once. */
const MAX_FORWARDS_IN_FLIGHT = 1024;

export function createDnsServer(
  settings: DnsSettings,
  where: { listen: { host: string; port: number }; upstream: { host: string; port: number } | undefined },
  deps: { source: DnsSource; clock: Clock; logger: Logger; counters: DnsCounters; forwardUnknown?: boolean; exemptLoopback?: boolean },
): DnsServer {
  const upstream = where.upstream;
  return new DnsServer({
    responder: new DnsResponder({ source: deps.source, maxAnswers: settings.max_answers }),
    ...(upstream !== undefined ? { forwarder: new DnsForwarder({ ...upstream, clock: deps.clock, timeoutMs: settings.upstream_timeout, maxInFlight: MAX_FORWARDS_IN_FLIGHT }) } : {}),
    ...where.listen,
    clock: deps.clock,
    logger: deps.logger,
    counters: deps.counters,
    rateLimit: { queriesPerSecond: settings.rate_limit, burst: settings.rate_burst },
    maxTcpConnections: settings.max_tcp_connections,
    ...(deps.forwardUnknown !== undefined ? { forwardUnknown: deps.forwardUnknown } : {}),
    ...(deps.exemptLoopback !== undefined ? { exemptLoopback: deps.exemptLoopback } : {}),
    forwardFrom: networkList(settings.forward_from),
    generation: () => deps.source.generation(),
  });
}
