import client from 'prom-client';

/**
 * The outbound proxy's metric families, on a registry of their own so several proxies in one
 * test process do not collide. Label sets are small and bounded (cluster, code class, cause).
 */
export class ProxyMetrics {
  readonly register: client.Registry;
  /** Requests (HTTP and gRPC) answered downstream, by cluster and status class (2xx..5xx). */
  readonly requests: client.Counter<'cluster' | 'protocol' | 'code_class'>;
  /** Failures the proxy produced itself, by cause (x-outrigger-error). */
  readonly errors: client.Counter<'cluster' | 'cause'>;
  readonly retries: client.Counter<'cluster'>;
  readonly ejections: client.Counter<'cluster' | 'reason'>;
  readonly tcpConnections: client.Counter<'cluster'>;
  /** Request counts kept as plain numbers on the hot path, added to `requests` when it is read. */
  private readonly pendingRequests = new Set<ClusterRequestCounters>();

  constructor(register: client.Registry = new client.Registry()) {
    this.register = register;
    const registers = [register];
    const pending = this.pendingRequests;
    this.requests = new client.Counter({
      name: 'outrigger_proxy_requests_total',
      help: 'Requests proxied, by cluster, protocol and response status class',
      labelNames: ['cluster', 'protocol', 'code_class'] as const,
      registers,
      collect() {
        for (const counters of pending) counters.flush();
      },
    });
    this.errors = new client.Counter({
      name: 'outrigger_proxy_errors_total',
      help: 'Responses produced by the proxy itself, by cause',
      labelNames: ['cluster', 'cause'] as const,
      registers,
    });
    this.retries = new client.Counter({
      name: 'outrigger_proxy_retries_total',
      help: 'Retry attempts sent upstream',
      labelNames: ['cluster'] as const,
      registers,
    });
    this.ejections = new client.Counter({
      name: 'outrigger_proxy_ejections_total',
      help: 'Endpoints ejected by outlier detection',
      labelNames: ['cluster', 'reason'] as const,
      registers,
    });
    this.tcpConnections = new client.Counter({
      name: 'outrigger_proxy_tcp_connections_total',
      help: 'TCP connections proxied',
      labelNames: ['cluster'] as const,
      registers,
    });
  }

  trackRequests(counters: ClusterRequestCounters): void {
    this.pendingRequests.add(counters);
  }

  untrackRequests(counters: ClusterRequestCounters): void {
    this.pendingRequests.delete(counters);
  }
}

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

type RequestProtocol = 'http' | 'http2' | 'grpc';

/**
 * The request counts of one cluster: counting a request is an array increment (a labelled
 * prom-client child still hashes its labels on every inc()); the counts reach the
 * outrigger_proxy_requests_total counter whenever it is read (a scrape, /metrics).
 */
export class ClusterRequestCounters {
  /** Per protocol, counts by status class not yet added to the counter. */
  private readonly counts = new Map<RequestProtocol, number[]>();

  constructor(
    private readonly metrics: ProxyMetrics,
    private readonly cluster: string,
  ) {
    metrics.trackRequests(this);
  }

  /** `status` 0 (no response at all) counts as 5xx. */
  inc(protocol: RequestProtocol, status: number): void {
    let row = this.counts.get(protocol);
    if (row === undefined) {
      row = [0, 0, 0, 0, 0];
      this.counts.set(protocol, row);
    }
    const i = Math.floor(status / 100) - 1;
    row[i >= 0 && i < 5 ? i : 4]!++;
  }

  /** Adds the counts so far to the counter. */
  flush(): void {
    for (const [protocol, row] of this.counts) {
      for (let i = 0; i < 5; i++) {
        const n = row[i]!;
        if (n === 0) continue;
        row[i] = 0;
        this.metrics.requests.inc({ cluster: this.cluster, protocol, code_class: CLASSES[i]! }, n);
      }
    }
  }

  /** The cluster is gone: its last counts are added, then it is no longer read. */
  close(): void {
    this.flush();
    this.metrics.untrackRequests(this);
  }
}

/** `2xx` for 204: computed without allocating a string per request. */
export function codeClass(status: number): string {
  return CLASSES[Math.floor(status / 100) - 1] ?? '5xx';
}
