import client from 'prom-client';
import type { Registry } from '../registry/registry.js';
import { collectDefaultMetrics } from './default-metrics.js';
import { DnsMetrics } from './dns-metrics.js';

/** API a subscriber or push belongs to: the xDS ADS stream, the Watch stream or a Session. */
export type SubscriberApi = 'xds' | 'watch' | 'session';

/**
 * The hub's metric families, on a prom-client registry of their own (not the global one), so
 * several hubs in one test process do not collide.
 */
export class HubMetrics {
  readonly register = new client.Registry();
  readonly subscribers: client.Gauge<'api'>;
  readonly pushes: client.Counter<'api' | 'type'>;
  readonly pushLatency: client.Histogram<'api'>;
  readonly nacks: client.Counter<'type'>;
  readonly registrations: client.Counter<'api'>;
  readonly requests: client.Counter<'api' | 'route' | 'code'>;
  readonly k8sEvents: client.Counter<'resource'>;
  readonly k8sRelists: client.Counter<'resource'>;
  readonly k8sWatchErrors: client.Counter<'resource'>;
  readonly authRefusals: client.Counter<'api' | 'code'>;
  readonly limitRefusals: client.Counter<'limit'>;
  readonly tlsReloads: client.Counter<'result'>;
  readonly tlsCertificateExpiry: client.Gauge;
  readonly dns: DnsMetrics;
  /** Counts the xDS subscribers that are stale, read at scrape time; the hub sets it once its xDS server exists. */
  staleSubscribers: () => number = () => 0;

  constructor(registry: Registry) {
    const register = this.register;
    collectDefaultMetrics(register, 'outrigger_hub_');
    this.dns = new DnsMetrics(register, 'outrigger_hub_');
    new client.Gauge({
      name: 'outrigger_hub_instances',
      help: 'Registered instances by namespace, service and health',
      labelNames: ['namespace', 'service', 'health'] as const,
      registers: [register],
      collect() {
        this.reset();
        for (const svc of registry.listServices()) {
          const counts = new Map<string, number>([['HEALTHY', 0], ['UNHEALTHY', 0], ['UNKNOWN', 0], ['DRAINING', 0]]);
          for (const inst of registry.instancesOf(svc.namespace, svc.name)) counts.set(inst.health, (counts.get(inst.health) ?? 0) + 1);
          for (const [health, n] of counts) this.set({ namespace: svc.namespace, service: svc.name, health }, n);
        }
      },
    });
    new client.Gauge({
      name: 'outrigger_hub_registry_version',
      help: 'Current registry version (increases with every change)',
      registers: [register],
      collect() {
        this.set(registry.version);
      },
    });
    new client.Counter({
      name: 'outrigger_hub_lease_expiries_total',
      help: 'Leases that ran out without renewal',
      registers: [register],
      collect() {
        this.reset();
        this.inc(registry.leaseExpiries);
      },
    });
    new client.Gauge({
      name: 'outrigger_hub_self_preservation',
      help: '1 while self-preservation holds back lease expiry',
      registers: [register],
      collect() {
        this.set(registry.selfPreservationActive ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'outrigger_hub_leader',
      help: '1 on the replica that runs the lease sweep and self-preservation (always 1 with the memory store)',
      registers: [register],
      collect() {
        this.set(registry.store.leader ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'outrigger_hub_store_stale',
      help: '1 while the store (etcd) cannot be reached: reads are served from the last snapshot, writes are refused',
      registers: [register],
      collect() {
        this.set(registry.store.stale ? 1 : 0);
      },
    });
    const stale = (): number => this.staleSubscribers();
    new client.Gauge({
      name: 'outrigger_hub_xds_stale_subscribers',
      help: 'xDS subscribers that have left a response un-ACKed (unanswered or NACKed) for 30 s or more',
      registers: [register],
      collect() {
        this.set(stale());
      },
    });
    this.subscribers = new client.Gauge({
      name: 'outrigger_hub_subscribers',
      help: 'Open subscriber streams by API',
      labelNames: ['api'] as const,
      registers: [register],
    });
    this.pushes = new client.Counter({
      name: 'outrigger_hub_pushes_total',
      help: 'Responses pushed to subscribers, by API and resource type',
      labelNames: ['api', 'type'] as const,
      registers: [register],
    });
    this.pushLatency = new client.Histogram({
      name: 'outrigger_hub_push_latency_seconds',
      help: 'Time from a registry change to its push being written to a subscriber',
      labelNames: ['api'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [register],
    });
    this.nacks = new client.Counter({
      name: 'outrigger_hub_xds_nacks_total',
      help: 'xDS responses rejected (NACKed) by subscribers, by type URL',
      labelNames: ['type'] as const,
      registers: [register],
    });
    this.registrations = new client.Counter({
      name: 'outrigger_hub_registrations_total',
      help: 'Instance registrations accepted, by API',
      labelNames: ['api'] as const,
      registers: [register],
    });
    this.requests = new client.Counter({
      name: 'outrigger_hub_api_requests_total',
      help: 'API requests by API, route and status code',
      labelNames: ['api', 'route', 'code'] as const,
      registers: [register],
    });
    this.k8sEvents = new client.Counter({
      name: 'outrigger_hub_k8s_events_total',
      help: 'Kubernetes watch events (added, modified, deleted) applied, by resource',
      labelNames: ['resource'] as const,
      registers: [register],
    });
    this.k8sRelists = new client.Counter({
      name: 'outrigger_hub_k8s_relists_total',
      help: 'Kubernetes lists after the first one (410 Gone or a failed list), by resource',
      labelNames: ['resource'] as const,
      registers: [register],
    });
    this.k8sWatchErrors = new client.Counter({
      name: 'outrigger_hub_k8s_watch_errors_total',
      help: 'Failed Kubernetes lists and watches, and ERROR events other than 410 Gone, by resource',
      labelNames: ['resource'] as const,
      registers: [register],
    });
    this.authRefusals = new client.Counter({
      name: 'outrigger_hub_auth_refusals_total',
      help: 'Calls refused for their credentials (unauthenticated) or their rights (permission_denied), by API',
      labelNames: ['api', 'code'] as const,
      registers: [register],
    });
    this.limitRefusals = new client.Counter({
      name: 'outrigger_hub_limit_refusals_total',
      help: 'Calls refused by a limit: write_rate, instances_per_service, instances_per_namespace, max_instances, streams_per_identity',
      labelNames: ['limit'] as const,
      registers: [register],
    });
    this.tlsReloads = new client.Counter({
      name: 'outrigger_hub_tls_reloads_total',
      help: 'Reloads of the TLS certificate, key and client CA files after a change: ok, or error (the last good files are kept)',
      labelNames: ['result'] as const,
      registers: [register],
    });
    this.tlsCertificateExpiry = new client.Gauge({
      name: 'outrigger_hub_tls_certificate_expiry_timestamp_seconds',
      help: 'When the certificate the hub serves expires (Unix time); 0 without TLS',
      registers: [register],
    });
  }

  /** The EndpointSlice source's counters for one resource. */
  k8sCounters(resource: string): { event(): void; relist(): void; error(): void } {
    return {
      event: () => this.k8sEvents.inc({ resource }),
      relist: () => this.k8sRelists.inc({ resource }),
      error: () => this.k8sWatchErrors.inc({ resource }),
    };
  }
}
