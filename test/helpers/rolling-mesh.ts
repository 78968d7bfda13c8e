import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../../src/common/logger.js';
import { hubConfigSchema } from '../../src/config/hub-config.js';
import { resolveSidecarConfig, sidecarConfigSchema, type SidecarConfig } from '../../src/config/sidecar-config.js';
import { startEchoApp, type EchoApp } from '../../src/demo/echo-app.js';
import { Hub, type HubAddresses } from '../../src/hub/hub.js';
import { parseWith } from '../../src/model/parse-input.js';
import { Sidecar, type SidecarAddresses } from '../../src/sidecar/sidecar.js';
import { getJson } from './cli-ports.js';

export const NAMESPACE = 'demo.local';

export interface Member {
  id: string;
  app: EchoApp;
  sidecar: Sidecar;
  addresses: SidecarAddresses;
}

export interface EndpointRow {
  id: string;
  health: string;
}

/**
 * A hub and sidecars in this process (as src/demo/demo.ts builds them), each sidecar beside its
 * own echo app, with a short health-check interval and drain period. Everything started is
 * remembered and stopped by close(), even when a start failed half-way.
 */
export class RollingMesh {
  hub: Hub | undefined;
  hubAddresses!: HubAddresses;
  private readonly members = new Set<Member>();
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'outrigger-rolling-'));

  constructor(
    private readonly logger: Logger,
    readonly drainPeriodMs: number,
  ) {}

  async startHub(): Promise<HubAddresses> {
    const config = parseWith(hubConfigSchema, { bind: '127.0.0.1', grpc_port: 0, http_port: 0, dns: { listen: 'off' }, auth: { enabled: false } }, '', 'config_invalid');
    this.hub = new Hub(config, { logger: this.logger.child({ hub: 'hub' }) });
    this.hubAddresses = await this.hub.start();
    this.hub.registry.putService(NAMESPACE, 'echo', { lb_policy: 'round_robin' });
    return this.hubAddresses;
  }

  /** An echo app and its sidecar; the app answers with `id` as its instance name. */
  async member(id: string, service: string, extra: Partial<SidecarConfig> = {}): Promise<Member> {
    const app = await startEchoApp(id, 'zone-a');
    let sidecar: Sidecar | undefined;
    try {
      const parsed = parseWith(
        sidecarConfigSchema,
        {
          service,
          namespace: NAMESPACE,
          instance_id: id,
          app: { port: app.port },
          version: 'v1',
          zone: 'zone-a',
          region: 'local',
          health_check: { type: 'http', path: '/healthz', interval: '200ms', timeout: '1s' },
          hubs: [this.hubAddresses.grpc],
          heartbeat_interval: '1s',
          reconnect_max_backoff: '1s',
          admin_bind: '127.0.0.1',
          admin_port: 0,
          outbound_port: 0,
          dns: { listen: 'off' },
          cache_file: path.join(this.dir, `${id}.json`),
          drain_period: `${this.drainPeriodMs}ms`,
          ...extra,
        },
        'test',
        'config_invalid',
      );
      sidecar = new Sidecar(resolveSidecarConfig(parsed, {}), { logger: this.logger.child({ sidecar: id }) });
      const addresses = await sidecar.start();
      const m: Member = { id, app, sidecar, addresses };
      this.members.add(m);
      return m;
    } catch (err) {
      await sidecar?.stop().catch(() => undefined);
      await app.close();
      throw err;
    }
  }

  /** Stops the member's sidecar (if not already stopped) and closes its app. */
  async remove(m: Member): Promise<void> {
    await m.sidecar.stop();
    await m.app.close();
    this.members.delete(m);
  }

  /** The hub's view of a service (all health states). */
  async hubView(service: string): Promise<EndpointRow[] | undefined> {
    const r = await getJson<{ data: { services: EndpointRow[] } }>(
      `${this.hubAddresses.http}/api/v1/discover?service_name=${service}&namespace=${NAMESPACE}&healthy_only=false`,
    );
    return r?.status === 200 ? r.body.data.services : undefined;
  }

  async close(): Promise<void> {
    const all = [...this.members];
    this.members.clear();
    await Promise.all(all.map((m) => m.sidecar.stop().catch(() => undefined)));
    await this.hub?.stop();
    await Promise.all(all.map((m) => m.app.close()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A sidecar's view of one cluster (GET {admin}/clusters); undefined while it does not hold it. */
export async function sidecarView(admin: string, cluster: string): Promise<EndpointRow[] | undefined> {
  const r = await getJson<{ clusters: Array<{ name: string; endpoints: EndpointRow[] }> }>(`${admin}/clusters`);
  return r?.body.clusters.find((c) => c.name === cluster)?.endpoints;
}
