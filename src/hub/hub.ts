import http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { StaticTokens } from '../auth/static-tokens.js';
import { createCloudMapHandler, isCloudMapRequest } from '../cloudmap/cloudmap-handler.js';
import { CloudMapStore } from '../cloudmap/cloudmap-store.js';
import { BlockingQueries } from '../consul/consul-blocking.js';
import { createConsulHandler, isConsulRequest } from '../consul/consul-handler.js';
import { EurekaDelta } from '../eureka/eureka-delta.js';
import { createEurekaHandler, isEurekaRequest } from '../eureka/eureka-handler.js';
import { createPolicyRegistry } from '../balancers/builtin-policies.js';
import { systemClock, type Clock } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import { listenError } from '../common/listen-error.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { dnsListenAddress, dnsUpstream } from '../config/dns-config.js';
import type { HubConfig } from '../config/hub-config.js';
import { createDnsServer } from '../dns/create-dns-server.js';
import type { DnsServer } from '../dns/dns-server.js';
import type { EndpointSliceSource } from '../k8s/endpoint-slice/endpoint-slice-source.js';
import { HubMetrics } from '../metrics/hub-metrics.js';
import { Registry } from '../registry/registry.js';
import { AdsServer } from '../xds/server/ads-server.js';
import { RegistryDnsSource } from './dns-registry-source.js';
import { addRegistryService } from './grpc-registry-service.js';
import { createHubSecurity, type HubSecurity } from './hub-security.js';
import { createHubStore } from './hub-store.js';
import { HubTls } from './hub-tls.js';
import { registrationCheck } from './access-rules.js';
import { createRestHandler } from './rest-api.js';
import { xdsAccess } from './xds-access.js';
import { isStale } from './xds-subscribers.js';

export interface HubAddresses {
  grpc: string;
  /** Base URL of the REST listener: `https://` with TLS on. */
  http: string;
  grpcPort: number;
  httpPort: number;
  /** The DNS server's port (UDP and TCP), unless `dns.listen` is off. */
  dnsPort?: number;
}

/** gRPC server settings: let sidecars keep idle streams alive with pings, and bound streams and message sizes. */
function grpcServerOptions(limits: HubConfig['limits']): grpc.ServerOptions {
  return {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    'grpc.max_receive_message_length': limits.max_grpc_message_bytes,
    'grpc.max_concurrent_streams': limits.max_streams_per_connection,
  };
}

/**
 * The registry hub: one registry, served over gRPC (registration API, Watch, Session, xDS) and
 * HTTP (REST, health, metrics). Wiring and lifecycle only.
 */
export class Hub {
  readonly registry: Registry;
  readonly metrics: HubMetrics;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly ads: AdsServer;
  private readonly security: HubSecurity;
  private readonly grpcServer: grpc.Server;
  private readonly rest: http.RequestListener;
  private readonly dns: DnsServer | undefined;
  /** Cloud Map's own state beside the registry; undefined when `cloudmap.enabled` is off. */
  private readonly cloudMapStore: CloudMapStore | undefined;
  /** The Consul API's blocking reads; undefined when `consul.enabled` is off. */
  private readonly consulQueries: BlockingQueries | undefined;
  /** Eureka's recent changes for `GET /apps/delta`; undefined when `eureka.enabled` is off. */
  private readonly eurekaDelta: EurekaDelta | undefined;
  /** Made at start, once the TLS files (if any) are read. */
  private httpServer: http.Server | https.Server | undefined;
  private tls: HubTls | undefined;
  private registryService: { close(): void } | undefined;
  private kubernetes: EndpointSliceSource | undefined;
  private started = false;
  /** This start wrote the bootstrap admin token (a first start). */
  bootstrapped = false;
  private stopping = false;

  constructor(
    private readonly config: HubConfig,
    private readonly deps: { clock?: Clock; logger?: Logger; kubeConfig?: KubeConfig } = {},
  ) {
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger;
    this.registry = new Registry({
      policies: createPolicyRegistry(),
      clock: this.clock,
      logger: this.logger.child({ component: 'registry' }),
      defaultNamespace: config.default_namespace,
      sweepIntervalMs: config.sweep_interval,
      maxInstances: config.max_instances,
      maxInstancesPerService: config.limits.max_instances_per_service,
      maxInstancesPerNamespace: config.limits.max_instances_per_namespace,
      onLimit: (limit) => this.metrics.limitRefusals.inc({ limit }),
      store: createHubStore(config.store, { clock: this.clock, logger: this.logger.child({ component: 'store' }) }),
      selfPreservation: {
        enabled: config.self_preservation.enabled,
        maxExpiringShare: config.self_preservation.max_expiring_share,
        minInstances: config.self_preservation.min_instances,
        renewalThreshold: config.self_preservation.renewal_threshold,
        windowMs: config.self_preservation.window,
      },
    });
    this.metrics = new HubMetrics(this.registry);
    this.security = createHubSecurity(config, { clock: this.clock, logger: this.logger, metrics: this.metrics });
    this.ads = new AdsServer({
      access: xdsAccess(this.security.access, this.security.openStreams),
      registry: this.registry,
      metrics: this.metrics,
      logger: this.logger.child({ component: 'xds' }),
      clock: this.clock,
      coalesceMs: config.xds.coalesce,
      maxConcurrentInitial: config.xds.max_concurrent_initial,
      maxBytesInFlight: config.xds.max_bytes_in_flight,
    });
    this.metrics.staleSubscribers = () => {
      const now = this.clock.now();
      return this.ads.describeStreams().filter((s) => isStale(s, now)).length;
    };
    this.grpcServer = new grpc.Server(grpcServerOptions(config.limits));
    const rest = createRestHandler({
      registry: this.registry,
      metrics: this.metrics,
      logger: this.logger.child({ component: 'rest' }),
      clock: this.clock,
      // With the Kubernetes source on, the hub is not ready until it holds what the cluster holds;
      // with etcd, the shared store holds what the elected replica's source wrote.
      isReady: () => this.started && !this.stopping && (this.config.store.kind !== 'memory' || (this.kubernetes?.synced ?? true)),
      // With etcd, a replica that lost it still serves reads from its snapshot: ready, but marked stale.
      ...(config.store.kind !== 'memory'
        ? { readyDetail: () => ({ store: { kind: this.registry.store.kind, stale: this.registry.store.stale, leader: this.registry.store.leader, version: this.registry.version } }) }
        : {}),
      maxBodyBytes: config.rest.max_body_bytes,
      access: this.security.access,
      writeLimiter: this.security.writeLimiter,
      openStreams: this.security.openStreams,
      live: { heartbeatMs: config.rest.live_heartbeat, bufferBytes: config.rest.live_buffer_bytes },
      subscribers: () => this.ads.describeStreams(),
      ...(this.security.tokens !== undefined ? { tokens: this.security.tokens } : {}),
    });
    this.cloudMapStore = config.cloudmap.enabled ? new CloudMapStore(this.registry, this.clock) : undefined;
    const cloudMap = this.createCloudMapHandler(this.cloudMapStore);
    // Cloud Map rides the HTTP port: `POST /` with its X-Amz-Target header, which no REST route takes.
    this.consulQueries = config.consul.enabled ? new BlockingQueries(this.registry, this.clock, { maxQueries: config.consul.max_blocking_queries, maxPerIdentity: config.consul.max_blocking_queries_per_identity }) : undefined;
    const consul = this.createConsulHandler(this.consulQueries);
    // Dialects ride the HTTP port ahead of REST: Cloud Map is `POST /` with its X-Amz-Target header, Consul is `/v1/...`, Eureka its prefix; no REST route takes any of them.
    const eureka = config.eureka;
    this.eurekaDelta = eureka.enabled ? new EurekaDelta(this.registry, eureka.namespace, this.clock, eureka.delta_retention, eureka.delta_max_changes) : undefined;
    const eurekaHandler = this.createEurekaHandler(this.eurekaDelta);
    this.rest = (req, res) => {
      if (cloudMap !== undefined && isCloudMapRequest(req)) cloudMap(req, res);
      else if (consul !== undefined && isConsulRequest(req)) consul(req, res);
      // Eureka lives under its prefix, which no REST route uses.
      else if (eurekaHandler !== undefined && isEurekaRequest(req, eureka.prefix)) eurekaHandler(req, res);
      else rest(req, res);
    };
    this.dns = this.createDnsServer();
  }

  private createCloudMapHandler(store: CloudMapStore | undefined): http.RequestListener | undefined {
    if (store === undefined) return undefined;
    const { region, account_id: accountId } = this.config.cloudmap;
    return createCloudMapHandler({
      registry: this.registry,
      store,
      arn: { region, accountId },
      access: this.security.access,
      clock: this.clock,
      logger: this.logger.child({ component: 'cloudmap' }),
      maxBodyBytes: this.config.rest.max_body_bytes,
      limitWrite: (identity, peer) => this.security.writeLimiter.take(identity, peer),
      count: (operation, code) => this.metrics.requests.inc({ api: 'cloudmap', route: operation, code }),
      registered: () => this.metrics.registrations.inc({ api: 'cloudmap' }),
    });
  }

  /** Where Consul calls without a namespace land, and what `service.consul` names in DNS. */
  private get consulNamespace(): string {
    return this.config.consul.default_namespace || this.config.default_namespace;
  }

  private createConsulHandler(blocking: BlockingQueries | undefined): http.RequestListener | undefined {
    if (blocking === undefined) return undefined;
    const c = this.config.consul;
    return createConsulHandler({
      registry: this.registry,
      blocking,
      access: this.security.access,
      clock: this.clock,
      logger: this.logger.child({ component: 'consul' }),
      maxBodyBytes: this.config.rest.max_body_bytes,
      site: { datacenter: c.datacenter, nodeName: c.node_name, defaultNamespace: this.consulNamespace },
      leader: () => {
        const address = this.httpServer?.address();
        return typeof address === 'object' && address !== null ? `${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}` : `${this.config.bind}:${this.config.http_port}`;
      },
      limitWrite: (identity, peer) => this.security.writeLimiter.take(identity, peer),
      count: (route, code) => this.metrics.requests.inc({ api: 'consul', route, code }),
      registered: () => this.metrics.registrations.inc({ api: 'consul' }),
    });
  }

  private createEurekaHandler(delta: EurekaDelta | undefined): http.RequestListener | undefined {
    if (delta === undefined) return undefined;
    return createEurekaHandler({
      registry: this.registry,
      delta,
      namespace: this.config.eureka.namespace,
      prefix: this.config.eureka.prefix,
      access: this.security.access,
      registrationCheck,
      clock: this.clock,
      logger: this.logger.child({ component: 'eureka' }),
      maxBodyBytes: this.config.rest.max_body_bytes,
      limitWrite: (identity, peer) => this.security.writeLimiter.take(identity, peer),
      count: (route, code) => this.metrics.requests.inc({ api: 'eureka', route, code }),
      registered: () => this.metrics.registrations.inc({ api: 'eureka' }),
    });
  }

  /** The DNS server over the registry, through the same access check (every query is anonymous); undefined when `dns.listen` is off. */
  private createDnsServer(): DnsServer | undefined {
    const dns = this.config.dns;
    const listen = dnsListenAddress(dns, this.config.bind);
    if (listen === undefined) return undefined;
    return createDnsServer(dns, { listen, upstream: dnsUpstream(dns) }, {
      source: new RegistryDnsSource(this.registry, this.security.access, this.config.consul.enabled ? this.consulNamespace : undefined),
      clock: this.clock,
      logger: this.logger.child({ component: 'dns' }),
      counters: this.metrics.dns,
    });
  }

  /** Consul blocking reads waiting now (for tests and diagnostics). */
  get consulBlockingQueries(): number {
    return this.consulQueries?.waiting ?? 0;
  }

  /** The static tokens; undefined with auth off. */
  get tokens(): StaticTokens | undefined {
    return this.security.tokens;
  }

  /** Where the static tokens and the bootstrap admin token live. */
  get tokenFiles(): { tokens: string; bootstrap: string } {
    return { tokens: this.security.tokensPath, bootstrap: this.security.bootstrapPath };
  }

  /** Applies configured services and static instances, then opens both listeners. */
  async start(): Promise<HubAddresses> {
    try {
      return await this.open();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private async open(): Promise<HubAddresses> {
    // Read first: a certificate file that cannot be used fails the start, naming its key, before anything is written or listens.
    this.tls = this.config.tls.cert_file !== '' ? new HubTls(this.config.tls, { clock: this.clock, logger: this.logger.child({ component: 'tls' }), metrics: this.metrics }) : undefined;
    this.bootstrapped = await this.security.start();
    // Slow clients (slow-loris) are cut off once their headers or request are overdue.
    const limits = this.config.limits;
    const httpOptions: http.ServerOptions = { headersTimeout: limits.http_headers_timeout, requestTimeout: limits.http_request_timeout, connectionsCheckingInterval: Math.min(1000, limits.http_headers_timeout) };
    const httpServer = (this.httpServer = this.tls?.createRestServer(httpOptions, this.rest) ?? http.createServer(httpOptions, this.rest));
    await this.registry.load();
    await this.seed();
    // Built before the listeners open, so a kubeconfig that cannot be loaded fails the start early.
    this.kubernetes = await this.createKubernetesSource();
    this.ads.addTo(this.grpcServer);
    this.registryService = addRegistryService(this.grpcServer, {
      registry: this.registry,
      metrics: this.metrics,
      access: this.security.access,
      writeLimiter: this.security.writeLimiter,
      openStreams: this.security.openStreams,
      logger: this.logger.child({ component: 'grpc' }),
      clock: this.clock,
      watchBufferLimit: this.config.watch_buffer_limit,
    });
    const host = this.config.bind.includes(':') ? `[${this.config.bind}]` : this.config.bind;
    const grpcPort = await new Promise<number>((resolve, reject) => {
      this.grpcServer.bindAsync(`${host}:${this.config.grpc_port}`, this.tls?.grpcCredentials() ?? grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(listenError('grpc_port', this.config.grpc_port, err)) : resolve(port),
      );
    });
    const httpPort = await new Promise<number>((resolve, reject) => {
      httpServer.once('error', (err) => reject(listenError('http_port', this.config.http_port, err)));
      httpServer.listen(this.config.http_port, this.config.bind, () => resolve((httpServer.address() as AddressInfo).port));
    });
    const dnsPort = await this.dns?.start().catch((err: Error) => {
      throw listenError('dns.listen', Number(this.config.dns.listen.split(':').pop()), err);
    });
    this.tls?.start();
    this.registry.start();
    // One replica runs the source: every replica would write the same endpoints (always this one, with memory).
    const source = this.kubernetes;
    if (source !== undefined) this.registry.store.watchElection((elected) => (elected && !this.stopping ? source.start() : source.stop()));
    this.started = true;
    const shown = this.config.bind === '0.0.0.0' || this.config.bind === '::' ? '127.0.0.1' : host;
    const scheme = this.tls !== undefined ? 'https' : 'http';
    const addresses = { grpc: `${shown}:${grpcPort}`, http: `${scheme}://${shown}:${httpPort}`, grpcPort, httpPort, ...(dnsPort !== undefined ? { dnsPort } : {}) };
    this.logger.info('hub started', { grpc: addresses.grpc, http: addresses.http, dns: dnsPort ?? 'off', tls: this.tlsSummary });
    if (this.tls === undefined && this.config.auth.enabled && !isLoopback(this.config.bind)) {
      this.logger.warn('TLS is off (no tls.cert_file): bearer tokens and all registry data cross the network in plaintext on both ports; set tls.cert_file and tls.key_file');
    }
    return addresses;
  }

  /** `off`, `on`, or `on; client certificates required (mTLS)`: for logs and the CLI. */
  get tlsSummary(): string {
    return this.tls?.summary ?? 'off';
  }

  /** Stops accepting, ends every stream, and closes both listeners. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.kubernetes?.stop();
    this.cloudMapStore?.close();
    this.consulQueries?.close();
    this.eurekaDelta?.close();
    this.security.close();
    this.tls?.close();
    this.registry.stop();
    await this.registry.store.close();
    this.ads.close();
    this.registryService?.close();
    await this.dns?.stop();
    await new Promise<void>((resolve) => {
      this.grpcServer.tryShutdown(() => resolve());
      // Streams a client never closes would hold tryShutdown forever; force after a grace period.
      this.clock.setTimeout(() => {
        this.grpcServer.forceShutdown();
        resolve();
      }, 2000).unref();
    });
    const httpServer = this.httpServer;
    if (httpServer?.listening === true) {
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    }
  }

  /** The EndpointSlice source, when enabled (exposed for tests and diagnostics). */
  get kubernetesSource(): EndpointSliceSource | undefined {
    return this.kubernetes;
  }

  /** Loaded only when enabled: the Kubernetes client is about a third of the hub's memory at start. */
  private async createKubernetesSource(): Promise<EndpointSliceSource | undefined> {
    const k = this.config.kubernetes;
    if (!k.enabled) return undefined;
    const [{ EndpointSliceSource }, { loadKubeConfig }] = await Promise.all([
      import('../k8s/endpoint-slice/endpoint-slice-source.js'),
      import('../k8s/endpoint-slice/kube-config.js'),
    ]);
    return new EndpointSliceSource({
      registry: this.registry,
      kubeConfig: this.deps.kubeConfig ?? loadKubeConfig(k.kubeconfig),
      namespaces: k.namespaces,
      namespaceSuffix: k.namespace_suffix,
      maxBackoffMs: k.max_backoff,
      clock: this.clock,
      logger: this.logger.child({ component: 'kubernetes' }),
      metrics: { counters: (resource) => this.metrics.k8sCounters(resource) },
    });
  }

  private async seed(): Promise<void> {
    for (const [i, s] of this.config.services.entries()) {
      await asConfigError(`services[${i}]`, () => this.registry.write(() => this.registry.putService(s.namespace, s.name, s.config ?? {})));
    }
    for (const [i, raw] of this.config.static_instances.entries()) {
      await asConfigError(`static_instances[${i}]`, () => this.registry.write(() => this.registry.register({ source: 'static', ...raw })));
    }
  }
}

function isLoopback(bind: string): boolean {
  return bind === 'localhost' || bind === '::1' || /^127\./.test(bind);
}

/** Reports a registry refusal of a configured item as a config error under the item's key. */
async function asConfigError(prefix: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof OutriggerError)) throw err;
    throw new OutriggerError('config_invalid', `${prefix}.${err.message}`, `${prefix}.${err.field ?? ''}`);
  }
}
