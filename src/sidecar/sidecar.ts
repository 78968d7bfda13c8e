import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { systemClock, type Clock, type TimerHandle } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import { isoTime } from '../common/iso-time.js';
import { listenError } from '../common/listen-error.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { dnsListenAddress, dnsUpstream } from '../config/dns-config.js';
import { CACHE_OFF, type ResolvedSidecarConfig } from '../config/sidecar-config.js';
import { createDnsServer } from '../dns/create-dns-server.js';
import type { DnsServer } from '../dns/dns-server.js';
import { HealthManager } from '../health/health-manager.js';
import { ProxyMetrics } from '../metrics/proxy-metrics.js';
import { SidecarMetrics } from '../metrics/sidecar-metrics.js';
import { qualifiedServiceName, serviceKey } from '../model/names.js';
import type { ClusterDescription } from '../proxy/cluster-runtime.js';
import { OutboundProxy } from '../proxy/outbound-proxy.js';
import { HubCredentials } from '../wire/hub-credentials.js';
import { AdsClient } from '../xds/client/ads-client.js';
import { createAdminHandler, startAdminServer, type AdminServer, type ReadyScope } from './admin-server.js';
import { hubTlsFailure } from './hub-tls-failure.js';
import { ClusterManager } from './cluster-manager.js';
import { ClusterUpstreamSource } from './cluster-upstream-source.js';
import { ClusterDnsSource } from './dns-view-source.js';
import { PeerCache } from './peer-cache.js';
import { Registrar } from './registrar.js';
import { HubServiceDirectory } from './service-existence.js';

export type SidecarPhase = 'starting' | 'running' | 'draining' | 'stopped';

export interface SidecarAddresses {
  admin: string;
  adminPort: number;
  /** The outbound proxy (HTTP_PROXY target, Host routing). */
  outbound: string;
  outboundPort: number;
  /** Per-upstream local ports as bound (a configured 0 is the port picked), by the upstream's `service` as configured. */
  localPorts: Record<string, number>;
  /** The DNS server's port (UDP and TCP), unless `dns.listen` is off. */
  dnsPort?: number;
}

/**
 * The sidecar's wiring and lifecycle: it checks its app's health, keeps its registration at the
 * hub in step with it, watches its upstreams, and serves the admin API. Start-up order makes it
 * ready only once it can route; shut-down drains before it deregisters.
 */
export class Sidecar {
  readonly health: HealthManager;
  readonly registrar: Registrar;
  readonly clusters: ClusterManager;
  readonly metrics: SidecarMetrics;
  readonly proxy: OutboundProxy;
  private readonly ads: AdsClient;
  private readonly dns: DnsServer | undefined;
  private readonly hubCredentials: HubCredentials;
  /** Why the hub last refused the xDS stream, until a stream connects. */
  private xdsRefusal: string | undefined;
  private readonly directory: HubServiceDirectory;
  /** Why the last TLS handshake with the hub failed, until a registration succeeds. */
  private hubTls: string | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private admin: AdminServer | undefined;
  private addresses: SidecarAddresses | undefined;
  private state: SidecarPhase = 'starting';
  private drainTimer: TimerHandle | undefined;
  private finishing: Promise<void> | undefined;
  private readonly stopped: Promise<void>;
  private markStopped!: () => void;

  constructor(
    readonly config: ResolvedSidecarConfig,
    deps: { clock?: Clock; logger?: Logger } = {},
  ) {
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger;
    this.stopped = new Promise((resolve) => (this.markStopped = resolve));
    const self = serviceKey(config.service, config.namespace);
    this.health = new HealthManager(config.health_check, {
      clock: this.clock,
      logger: this.logger,
      target: { address: config.app.address, port: config.app.port },
    });
    this.hubCredentials = new HubCredentials({
      tokenFile: config.hub_token_file,
      ...(config.hub_tls.enabled
        ? { tls: { caFile: config.hub_tls.ca_file, certFile: config.hub_tls.cert_file, keyFile: config.hub_tls.key_file, serverName: config.hub_tls.server_name } }
        : {}),
      logger: this.logger.child({ component: 'hub-credentials' }),
    });
    this.registrar = new Registrar({
      connection: this.hubCredentials,
      hubs: config.hubs,
      registration: {
        id: config.instance_id,
        service: config.service,
        namespace: config.namespace,
        address: config.advertise_address,
        port: config.app.port,
        protocol: config.app.protocol,
        version: config.version,
        zone: config.zone,
        region: config.region,
        weight: config.weight,
        metadata: config.metadata,
        health: this.health.health,
        ttl_ms: config.ttl,
      },
      heartbeatIntervalMs: config.heartbeat_interval,
      backoff: { maxMs: config.reconnect_max_backoff },
      clock: this.clock,
      logger: this.logger.child({ component: 'registrar' }),
    });
    this.ads = new AdsClient({
      connection: this.hubCredentials,
      hubs: config.hubs,
      node: { id: config.instance_id, cluster: self, locality: { zone: config.zone, region: config.region } },
      backoff: { maxMs: config.reconnect_max_backoff },
      clock: this.clock,
      logger: this.logger.child({ component: 'xds' }),
    });
    this.directory = new HubServiceDirectory(config.hubs, this.logger.child({ component: 'clusters' }), this.hubCredentials);
    const cacheFile = config.cache_file !== '' ? config.cache_file : path.join(tmpdir(), `outrigger-${self}-${config.instance_id}.json`);
    this.clusters = new ClusterManager({
      ads: this.ads,
      declared: config.upstreams.map((u) => qualifiedServiceName(u.service, config.namespace)),
      cache: config.cache_file === CACHE_OFF ? undefined : new PeerCache({ file: cacheFile, clock: this.clock, logger: this.logger }),
      clock: this.clock,
      logger: this.logger,
      onDemandIdleMs: config.on_demand_idle,
      exists: this.directory.exists,
    });
    this.metrics = new SidecarMetrics({
      appHealth: () => this.health.health,
      sessionState: () => this.registrar.state,
      sessionReconnects: () => this.registrar.stats.reconnects,
      xds: () => {
        const s = this.ads.stats();
        return {
          connected: s.state === 'connected',
          updates: s.updates.cds + s.updates.eds,
          nacks: s.nacks.cds + s.nacks.eds,
          reconnects: s.reconnects,
          versions: s.versions,
        };
      },
      cacheAgeSeconds: () => this.clusters.staleAgeMs() / 1000,
      clusters: () => this.clusters.list().map((c) => ({ name: c.name, endpoints: c.endpoints ?? [] })),
    });
    this.proxy = new OutboundProxy({
      source: new ClusterUpstreamSource(this.clusters),
      namespace: config.namespace,
      locality: { zone: config.zone, region: config.region },
      listen: { host: config.outbound_bind, port: config.outbound_port },
      upstreams: config.upstreams.map((u) => ({
        service: u.service,
        local_port: u.local_port,
        protocol: u.protocol,
        lb_policy: u.lb_policy,
        lb_options: u.lb_options,
        timeout_ms: u.timeout,
      })),
      passthrough: config.passthrough,
      http1Engine: config.http1_engine,
      clock: this.clock,
      logger: this.logger.child({ component: 'proxy' }),
      metrics: new ProxyMetrics(this.metrics.register),
    });
    this.dns = this.createDnsServer();
    this.registrar.on('refused', (r) => {
      this.metrics.hubRefusals.inc({ api: 'session', code: r.code });
    });
    this.registrar.on('disconnected', (reason) => {
      const failure = hubTlsFailure(reason);
      if (failure === undefined) return;
      this.metrics.hubRefusals.inc({ api: 'session', code: 'tls' });
      // Once per kind of failure, not once per retry: the registrar's own line says each retry.
      if (failure !== this.hubTls) this.logger.error('TLS with the hub failed: check hub_tls', { hubs: this.config.hubs, error: failure });
      this.hubTls = failure;
    });
    this.registrar.on('registered', () => {
      this.hubTls = undefined;
    });
    this.ads.on('refused', (code, details) => {
      this.xdsRefusal = `${code === grpc.status.UNAUTHENTICATED ? 'unauthenticated' : 'permission_denied'}: ${details}`;
      this.metrics.hubRefusals.inc({ api: 'xds', code: code === grpc.status.UNAUTHENTICATED ? 'unauthenticated' : 'permission_denied' });
    });
    this.ads.on('state', (state) => {
      if (state === 'connected') this.xdsRefusal = undefined;
    });
    this.health.on('result', (r) => {
      this.metrics.checkResults.inc({ status: r.status });
      this.metrics.checkDuration.observe(r.durationMs / 1000);
    });
    this.health.on('transition', (t) => {
      this.logger.info('app health changed', { from: t.previous, to: t.health, status: t.status, output: t.output });
      if (this.state !== 'draining') this.registrar.setHealth(t.health);
    });
  }

  /** The pod's resolver for mesh names, answered from the xDS view; undefined when `dns.listen` is off. */
  private createDnsServer(): DnsServer | undefined {
    const dns = this.config.dns;
    const listen = dnsListenAddress(dns, '127.0.0.1');
    if (listen === undefined) return undefined;
    const zones = [this.config.namespace, ...this.config.upstreams.map((u) => qualifiedServiceName(u.service, this.config.namespace).replace(/^[^.]*\./, '')), ...dns.zones];
    return createDnsServer(dns, { listen, upstream: dnsUpstream(dns) }, {
      source: new ClusterDnsSource(this.clusters, zones, dns.lookup_timeout),
      clock: this.clock,
      logger: this.logger.child({ component: 'dns' }),
      counters: this.metrics.dns,
      // As a pod's resolver it knows only mesh names: one of its namespaces it cannot answer may be a Kubernetes Service.
      forwardUnknown: true,
      // Its only peers are its own pod's processes: a busy app's lookups must not be dropped.
      exemptLoopback: true,
    });
  }

  get phase(): SidecarPhase {
    return this.state;
  }

  /**
   * Why /ready is not 200 (empty when ready). Scope `pod`: the pod can take traffic (the app is
   * healthy and the sidecar can route). Scope `proxy`: the sidecar can route the app's calls,
   * whatever the app's own health — what an app waiting for its sidecar needs.
   */
  notReadyReasons(scope: ReadyScope = 'pod'): string[] {
    const reasons: string[] = [];
    if (this.state === 'draining') reasons.push('the sidecar is draining');
    if (this.state === 'stopped') reasons.push('the sidecar has stopped');
    if (scope === 'pod' && this.health.health !== 'HEALTHY') reasons.push(`the app is ${this.health.health} (last check: ${this.health.lastResult?.output ?? 'none yet'})`);
    if (!this.clusters.ready) {
      const pending = this.clusters.list().filter((c) => c.declared && c.status === 'pending');
      reasons.push(`no peer config yet for ${pending.map((c) => c.name).join(', ')}`);
    }
    const refusal = this.registrar.stats.refusal;
    if (scope === 'pod' && refusal !== undefined) reasons.push(`the hub refused this sidecar's registration: ${refusal.code}: ${refusal.message}`);
    if (scope === 'pod' && this.hubTls !== undefined) reasons.push(`TLS with the hub failed: ${this.hubTls}`);
    if (this.xdsRefusal !== undefined) reasons.push(`the hub refused this sidecar's xDS stream: ${this.xdsRefusal}`);
    return reasons;
  }

  /** Opens the admin API, loads cached peers, and starts checks, registration and peer watch. */
  async start(): Promise<SidecarAddresses> {
    this.admin = await startAdminServer(
      createAdminHandler({
        notReadyReasons: (scope) => this.notReadyReasons(scope),
        clusters: () => this.describeClusters(),
        configDump: () => this.configDump(),
        metrics: this.metrics.register,
        reportTtl: (status, output) => {
          if (this.health.config.type !== 'ttl') {
            throw new OutriggerError('failed_precondition', `health_check.type is ${this.health.config.type}: only a ttl check takes reports`, 'health_check.type');
          }
          this.health.report(status, output);
        },
        drain: () => void this.drain(),
        quit: () => void this.drain(0),
        logger: this.logger,
        clock: this.clock,
      }),
      this.config.admin_bind,
      this.config.admin_port,
    );
    await this.clusters.start();
    const remoteHubs = this.config.hubs.filter((h) => !isLoopbackHub(h));
    if (this.hubCredentials.sendsToken && !this.hubCredentials.usesTls && remoteHubs.length > 0) {
      // Anyone on the path can read a bearer token sent in plaintext, and then act as this sidecar.
      this.logger.warn('the hub token goes to hubs beyond loopback without TLS; set hub_tls', { hubs: remoteHubs });
    }
    if (!isLoopbackBind(this.config.outbound_bind)) {
      // Anyone who reaches the outbound proxy calls the mesh as this app.
      this.logger.warn('the outbound proxy listens beyond loopback: any host that reaches it calls the mesh as this app', { outbound_bind: this.config.outbound_bind });
    }
    const dnsHost = dnsListenAddress(this.config.dns, '127.0.0.1')?.host;
    if (dnsHost !== undefined && !isLoopbackBind(dnsHost)) {
      // The sidecar answers from what its own identity may read: anyone who reaches it learns that.
      this.logger.warn('the DNS server listens beyond loopback: any host that reaches it reads the mesh as this app', { dns_listen: this.config.dns.listen });
    }
    const outbound = await this.proxy.start();
    const dnsPort = await this.dns?.start().catch((err: Error) => {
      throw listenError('dns.listen', Number(this.config.dns.listen.split(':').pop()), err);
    });
    this.health.start();
    this.registrar.start();
    this.state = 'running';
    const shown = (bind: string): string => (bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind);
    this.addresses = {
      admin: `http://${shown(this.config.admin_bind)}:${this.admin.port}`,
      adminPort: this.admin.port,
      outbound: `http://${shown(this.config.outbound_bind)}:${outbound.port}`,
      outboundPort: outbound.port,
      localPorts: outbound.localPorts,
      ...(dnsPort !== undefined ? { dnsPort } : {}),
    };
    return this.addresses;
  }

  /** The bound local port of each upstream that has one, by cluster name. */
  private localPortsByCluster(): Map<string, number> {
    const bound = this.addresses?.localPorts ?? {};
    const out = new Map<string, number>();
    for (const u of this.config.upstreams) {
      const port = bound[u.service];
      if (port !== undefined) out.set(qualifiedServiceName(u.service, this.config.namespace), port);
    }
    return out;
  }

  /**
   * Drains: DRAINING at the hub at once (peers stop sending new requests), the outbound path
   * kept working while the app finishes, then deregisters and stops after `periodMs`. Calling
   * it again with a shorter period (POST /quitquitquit) cuts the wait short.
   */
  drain(periodMs = this.config.drain_period): Promise<void> {
    if (this.state === 'stopped') return this.stopped;
    if (this.state !== 'draining') {
      this.state = 'draining';
      this.logger.info('draining', { period_ms: periodMs });
      this.registrar.drain().catch((err: unknown) => this.logger.warn('the hub did not confirm DRAINING', { err: String(err) }));
    }
    this.clock.clearTimeout(this.drainTimer);
    this.drainTimer = this.clock.setTimeout(() => void this.finish(), periodMs);
    return this.stopped;
  }

  /** Resolves once the sidecar has stopped (after a drain or stop()). */
  get done(): Promise<void> {
    return this.stopped;
  }

  /** Deregisters and stops everything now. */
  async stop(): Promise<void> {
    await this.finish();
  }

  private finish(): Promise<void> {
    this.finishing ??= (async () => {
      this.clock.clearTimeout(this.drainTimer);
      try {
        await this.registrar.deregister();
      } catch (err) {
        this.logger.warn('could not deregister at the hub; its lease will expire', { err: String(err) });
      }
      await this.health.stop();
      await this.proxy.stop();
      await this.dns?.stop();
      await this.clusters.stop();
      this.directory.close();
      await this.admin?.close();
      this.state = 'stopped';
      this.markStopped();
    })();
    return this.finishing;
  }

  describeClusters(): unknown {
    const live = new Map(this.proxy.describeClusters().map((d) => [d.name, d]));
    const localPorts = this.localPortsByCluster();
    return {
      stale_age_ms: this.clusters.staleAgeMs(),
      clusters: this.clusters.list().map((c) => ({
        ...this.liveState(live.get(c.name)),
        name: c.name,
        declared: c.declared,
        local_port: localPorts.get(c.name),
        status: c.status,
        source: c.source,
        lb_policy: c.config?.lb_policy,
        config_version: c.configVersion,
        endpoints_version: c.endpointsVersion,
        error: c.error,
        endpoints: (c.endpoints ?? []).map((e) => ({
          id: e.id,
          address: e.address,
          port: e.port,
          health: e.health,
          weight: e.weight,
          zone: e.zone,
          region: e.region,
          version: e.version,
        })),
      })),
    };
  }

  /** What the data plane knows of a cluster: routing mode, breaker state, per-endpoint load and ejection. */
  private liveState(d: ClusterDescription | undefined): Record<string, unknown> {
    if (d === undefined) return {};
    return { routing_mode: d.routing_mode, circuit_breakers: d.circuit_breakers, data_plane_endpoints: d.endpoints, recent_requests: d.recent_requests };
  }

  /** Times are ISO-8601 strings, as everywhere in the APIs; the internals keep clock milliseconds. */
  configDump(): unknown {
    const { health_check: check, ...rest } = this.config;
    const registration = this.registrar.stats;
    const last = this.health.lastResult;
    const peers = this.clusters.configDump();
    const { ads, cache } = peers;
    return {
      phase: this.state,
      config: { ...rest, health_check: check },
      // Where the sidecar listens, as bound: a configured port 0 shows the port picked.
      listeners: {
        admin_port: this.addresses?.adminPort,
        outbound_port: this.addresses?.outboundPort,
        local_ports: Object.fromEntries(this.localPortsByCluster()),
      },
      registration: { state: this.registrar.state, health: this.registrar.health, ...registration, registeredAt: isoTime(registration.registeredAt) },
      app_health: { health: this.health.health, last: last === undefined ? undefined : { ...last, at: isoTime(last.at) }, stats: this.health.stats },
      peers: {
        ...peers,
        ads: {
          ...ads,
          last_update_at: isoTime(ads.last_update_at),
          last_in_sync_at: isoTime(ads.last_in_sync_at),
          last_nack: ads.last_nack === undefined ? undefined : { ...ads.last_nack, at: isoTime(ads.last_nack.at) },
        },
        cache: cache === undefined ? undefined : { ...cache, last_written_at: isoTime(cache.last_written_at), loaded_written_at: isoTime(cache.loaded_written_at) },
        clusters: peers.clusters.map((c) => ({ ...c, changedAt: isoTime(c.changedAt), lastUsedAt: isoTime(c.lastUsedAt) })),
      },
    };
  }
}

function isLoopbackBind(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Whether a hub address (`host:port`, `[v6]:port`) is on this machine. */
function isLoopbackHub(target: string): boolean {
  const host = target.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return isLoopbackBind(host);
}
