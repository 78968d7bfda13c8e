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

  constructor(register: client.Registry = new client.Registry()) {
    this.register = register;
    const registers = [register];
    this.requests = new client.Counter({
      name: 'outrigger_proxy_requests_total',
      help: 'Requests proxied, by cluster, protocol and response status class',
      labelNames: ['cluster', 'protocol', 'code_class'] as const,
      registers,
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
}

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

type RequestProtocol = 'http' | 'http2' | 'grpc';

/**
 * The request counter's children of one cluster, resolved once: counting a request then costs
 * an array index, not a label object and a label-hash lookup per request.
 */
export class ClusterRequestCounters {
  private readonly children = new Map<RequestProtocol, client.Counter.Internal[]>();

  constructor(
    private readonly metrics: ProxyMetrics,
    private readonly cluster: string,
  ) {}

  /** `status` 0 (no response at all) counts as 5xx. */
  inc(protocol: RequestProtocol, status: number): void {
    let row = this.children.get(protocol);
    if (row === undefined) {
      row = CLASSES.map((c) => this.metrics.requests.labels({ cluster: this.cluster, protocol, code_class: c }));
      this.children.set(protocol, row);
    }
    const i = Math.floor(status / 100) - 1;
    row[i >= 0 && i < 5 ? i : 4]!.inc();
  }
}

/** `2xx` for 204: computed without allocating a string per request. */
export function codeClass(status: number): string {
  return CLASSES[Math.floor(status / 100) - 1] ?? '5xx';
}
