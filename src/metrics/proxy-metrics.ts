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
    // A histogram whose buckets are plain arrays of each cluster's counters, read at scrape time:
    // observing a request is an array increment, not a labelled prom-client child lookup.
    const latency = {
      name: 'outrigger_proxy_request_duration_seconds',
      help: 'Time from a request admitted to its call finished (retries included), by cluster',
      type: 'histogram',
      aggregator: 'sum',
      get: async () => ({ ...latency, values: [...pending].flatMap((c) => c.latencyValues()) }),
    };
    register.registerMetric(latency as unknown as client.Metric);
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

/** Bounds (seconds) of outrigger_proxy_request_duration_seconds. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type RequestProtocol = 'http' | 'http2' | 'grpc';

/**
 * The request counts of one cluster: counting a request is an array increment (a labelled
 * prom-client child still hashes its labels on every inc()); the counts reach the
 * outrigger_proxy_requests_total counter whenever it is read (a scrape, /metrics).
 */
export class ClusterRequestCounters {
  /** Per protocol, counts by status class not yet added to the counter. */
  private readonly counts = new Map<RequestProtocol, number[]>();
  /** Requests per latency bucket (the last one past every bound), and their total seconds. */
  private readonly latency = new Float64Array(LATENCY_BUCKETS.length + 1);
  private latencySum = 0;

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

  /** A finished request's duration in ms, into the latency histogram. */
  observe(ms: number): void {
    const s = ms / 1000;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && s > LATENCY_BUCKETS[i]!) i++;
    this.latency[i]!++;
    this.latencySum += s;
  }

  /** The latency histogram's samples of this cluster, as prom-client's Histogram.get() gives them. */
  latencyValues(): Array<{ metricName: string; labels: Record<string, string | number>; value: number }> {
    const name = 'outrigger_proxy_request_duration_seconds';
    const out: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    let cumulative = 0;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      cumulative += this.latency[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { le: LATENCY_BUCKETS[i]!, cluster: this.cluster }, value: cumulative });
    }
    cumulative += this.latency[LATENCY_BUCKETS.length]!;
    out.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', cluster: this.cluster }, value: cumulative });
    out.push({ metricName: `${name}_sum`, labels: { cluster: this.cluster }, value: this.latencySum });
    out.push({ metricName: `${name}_count`, labels: { cluster: this.cluster }, value: cumulative });
    return out;
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
