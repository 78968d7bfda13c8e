import client from 'prom-client';

/**
 * The DNS server's counters, on the hub's or the sidecar's registry (`prefix` says which):
 * answers by result and transport, and packets dropped by reason (malformed, rate limited, ...).
 */
export class DnsMetrics {
  private readonly answers: client.Counter<'result' | 'transport'>;
  private readonly drops: client.Counter<'reason'>;

  constructor(register: client.Registry, prefix: 'outrigger_hub_' | 'outrigger_sidecar_') {
    this.answers = new client.Counter({
      name: `${prefix}dns_answers_total`,
      help: 'DNS answers sent, by response code (FORWARDED: relayed from the upstream resolver) and transport',
      labelNames: ['result', 'transport'] as const,
      registers: [register],
    });
    this.drops = new client.Counter({
      name: `${prefix}dns_dropped_total`,
      help: 'DNS packets dropped without an answer: malformed, not_a_query, rate_limited (per-source limit), unencodable',
      labelNames: ['reason'] as const,
      registers: [register],
    });
  }

  answered(result: string, transport: string): void {
    this.answers.inc({ result, transport });
  }

  dropped(reason: string): void {
    this.drops.inc({ reason });
  }
}
