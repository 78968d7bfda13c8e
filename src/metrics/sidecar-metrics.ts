import client from 'prom-client';
import { collectDefaultMetrics } from './default-metrics.js';
import { DnsMetrics } from './dns-metrics.js';

/** What the sidecar's gauges read at scrape time (so components need no metric hooks). */
export interface SidecarStatus {
  appHealth(): string;
  sessionState(): string;
  sessionReconnects(): number;
  xds(): { connected: boolean; updates: number; nacks: number; reconnects: number; versions: Record<string, string> };
  /** Seconds since the peer config was last known in sync with the hub; 0 while in sync. */
  cacheAgeSeconds(): number;
  clusters(): Array<{ name: string; endpoints: ReadonlyArray<{ health: string }> }>;
}

/**
 * How often the event-loop delay monitor behind outrigger_sidecar_nodejs_eventloop_lag_* samples.
 * prom-client's default (10 ms) wakes an idle sidecar 100 times a second, which is most of what it
 * costs when no request flows; 100 ms still catches any stall a proxy would care about.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

const APP_HEALTH = ['HEALTHY', 'UNHEALTHY', 'UNKNOWN', 'DRAINING'] as const;
const SESSION_STATES = ['idle', 'connecting', 'registered', 'backoff', 'stopped'] as const;

/** The sidecar's control-side metric families, on a prom-client registry of its own. */
export class SidecarMetrics {
  readonly register = new client.Registry();
  readonly checkResults: client.Counter<'status'>;
  readonly checkDuration: client.Histogram;
  readonly hubRefusals: client.Counter<'api' | 'code'>;
  readonly dns: DnsMetrics;

  constructor(status: SidecarStatus) {
    const register = this.register;
    collectDefaultMetrics(register, 'outrigger_sidecar_', { eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    this.dns = new DnsMetrics(register, 'outrigger_sidecar_');
    this.checkResults = new client.Counter({
      name: 'outrigger_sidecar_health_check_results_total',
      help: 'Health check results of the app, by status (pass, warn, fail)',
      labelNames: ['status'] as const,
      registers: [register],
    });
    this.checkDuration = new client.Histogram({
      name: 'outrigger_sidecar_health_check_duration_seconds',
      help: 'Duration of each health check probe',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [register],
    });
    this.hubRefusals = new client.Counter({
      name: 'outrigger_sidecar_hub_refusals_total',
      help: "The hub refused this sidecar's credentials or rights, by API (session, xds) and code (unauthenticated, permission_denied, or tls: a failed TLS handshake)",
      labelNames: ['api', 'code'] as const,
      registers: [register],
    });
    new client.Gauge({
      name: 'outrigger_sidecar_app_health',
      help: '1 for the health the app currently has',
      labelNames: ['health'] as const,
      registers: [register],
      collect() {
        const now = status.appHealth();
        for (const h of APP_HEALTH) this.set({ health: h }, h === now ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'outrigger_sidecar_session_state',
      help: '1 for the state the hub session is in',
      labelNames: ['state'] as const,
      registers: [register],
      collect() {
        const now = status.sessionState();
        for (const s of SESSION_STATES) this.set({ state: s }, s === now ? 1 : 0);
      },
    });
    new client.Counter({
      name: 'outrigger_sidecar_session_reconnects_total',
      help: 'Times the hub session was re-established after a loss',
      registers: [register],
      collect() {
        this.reset();
        this.inc(status.sessionReconnects());
      },
    });
    new client.Gauge({
      name: 'outrigger_sidecar_xds_connected',
      help: '1 while the xDS stream to a hub is up',
      registers: [register],
      collect() {
        this.set(status.xds().connected ? 1 : 0);
      },
    });
    for (const [name, help, key] of [
      ['outrigger_sidecar_xds_updates_total', 'xDS responses accepted', 'updates'],
      ['outrigger_sidecar_xds_nacks_total', 'xDS responses rejected (NACKed)', 'nacks'],
      ['outrigger_sidecar_xds_reconnects_total', 'xDS stream reconnects', 'reconnects'],
    ] as const) {
      new client.Counter({
        name,
        help,
        registers: [register],
        collect() {
          this.reset();
          this.inc(status.xds()[key]);
        },
      });
    }
    new client.Gauge({
      name: 'outrigger_sidecar_xds_version',
      help: 'Version accepted last, per resource type (the version is a label)',
      labelNames: ['type', 'version'] as const,
      registers: [register],
      collect() {
        this.reset();
        for (const [type, version] of Object.entries(status.xds().versions)) this.set({ type, version }, 1);
      },
    });
    new client.Gauge({
      name: 'outrigger_sidecar_peer_config_stale_seconds',
      help: 'Seconds the peer config has gone without being in sync with a hub (0 while in sync)',
      registers: [register],
      collect() {
        this.set(status.cacheAgeSeconds());
      },
    });
    new client.Gauge({
      name: 'outrigger_sidecar_cluster_endpoints',
      help: 'Endpoints known per upstream cluster, by health',
      labelNames: ['cluster', 'health'] as const,
      registers: [register],
      collect() {
        this.reset();
        for (const c of status.clusters()) {
          const counts = new Map<string, number>(APP_HEALTH.map((h) => [h, 0]));
          for (const e of c.endpoints) counts.set(e.health, (counts.get(e.health) ?? 0) + 1);
          for (const [health, n] of counts) this.set({ cluster: c.name, health }, n);
        }
      },
    });
  }
}
