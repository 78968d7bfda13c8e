import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { issueToken } from '../auth/token-request.js';
import { systemClock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { HubConfig } from '../config/hub-config.js';
import { CACHE_OFF, resolveSidecarConfig, sidecarConfigSchema, type SidecarConfig } from '../config/sidecar-config.js';
import { Hub, type HubAddresses } from '../hub/hub.js';
import { parseWith } from '../model/parse-input.js';
import { Sidecar, type SidecarAddresses } from '../sidecar/sidecar.js';
import { startEchoApp, type EchoApp } from './echo-app.js';

export const DEMO_NAMESPACE = 'demo.local';

export interface DemoMember {
  app: EchoApp;
  sidecar: Sidecar;
  admin: SidecarAddresses;
}

export interface Demo {
  hub: Hub;
  addresses: HubAddresses;
  /** The hub's admin token, when auth is on (it is unless the config turns it off). */
  adminToken: string | undefined;
  /** Callers without a token may read (auth off, or the anonymous policy on). */
  anonymousRead: boolean;
  /** The three `echo` instances, each with its sidecar. */
  echoes: DemoMember[];
  /** The `web` app, whose sidecar calls `echo`. */
  web: DemoMember;
  stop(): Promise<void>;
}

export interface DemoOptions {
  /** Admin port of web's sidecar (the one a user looks at); 0 picks a free one. */
  webAdminPort: number;
  /** Outbound port of web's sidecar; 0 picks a free one. */
  webOutboundPort: number;
}

/**
 * The embedded default, a small mesh on loopback: a hub with the in-memory store, three `echo`
 * apps across two zones and a `web` app, each beside its own sidecar (in this process). The
 * sidecars register their apps, health-check them, and `web`'s sidecar watches `echo`.
 */
export async function startDemo(config: HubConfig, logger: Logger, options: DemoOptions): Promise<Demo> {
  // Each run is a fresh mesh with fresh tokens, kept in a folder of its own and removed at stop.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'outrigger-demo-'));
  const hub = new Hub({ ...config, data_dir: dataDir, auth: { ...config.auth, tokens_file: '', bootstrap_token_file: '' } }, { logger });
  const members: DemoMember[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.sidecar.stop()));
    await hub.stop();
    await Promise.all(members.map((m) => m.app.close()));
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const addresses = await hub.start();
    hub.registry.putService(DEMO_NAMESPACE, 'echo', { lb_policy: 'round_robin' });
    const adminToken = config.auth.enabled ? readFileSync(hub.tokenFiles.bootstrap, 'utf8').trim() : undefined;
    // Each service's sidecars hold a token that may write only that service's instances.
    const tokenFile = async (service: string): Promise<string> => {
      const file = path.join(dataDir, `${service}.token`);
      if (hub.tokens === undefined) return '';
      const { record, secret } = issueToken({ name: `${service} sidecars`, role: 'service', scopes: [`${DEMO_NAMESPACE}/${service}`] }, Date.now());
      await hub.tokens.add(record);
      await writeFileAtomic(file, `${secret}\n`, { mode: 0o600 });
      return file;
    };
    const tokens = { echo: await tokenFile('echo'), web: await tokenFile('web') };
    const member = async (name: string, service: string, zone: string, extra: Partial<SidecarConfig>): Promise<DemoMember> => {
      const app = await startEchoApp(name, zone);
      const parsed = parseWith(sidecarConfigSchema, {
        service,
        namespace: DEMO_NAMESPACE,
        instance_id: name,
        app: { port: app.port },
        version: 'v1',
        zone,
        region: 'local',
        health_check: { type: 'http', path: '/healthz', interval: '2s', timeout: '1s' },
        hubs: [addresses.grpc],
        hub_token_file: tokens[service as keyof typeof tokens] ?? '',
        admin_bind: '127.0.0.1',
        admin_port: 0,
        outbound_port: 0,
        // The demo hub answers DNS on its port; the sidecars share this machine with it.
        dns: { listen: 'off' },
        // Every demo starts a fresh mesh on new ports: a previous run's peers are all dead.
        cache_file: CACHE_OFF,
        drain_period: '1s',
        ...extra,
      }, 'demo', 'config_invalid');
      const sidecar = new Sidecar(resolveSidecarConfig(parsed, {}), { logger: logger.child({ sidecar: name }) });
      const m: DemoMember = { app, sidecar, admin: await sidecar.start() };
      members.push(m);
      return m;
    };
    const echoes = await Promise.all([
      member('echo-1', 'echo', 'zone-a', {}),
      member('echo-2', 'echo', 'zone-a', {}),
      member('echo-3', 'echo', 'zone-b', {}),
    ]);
    const web = await member('web-1', 'web', 'zone-a', {
      admin_port: options.webAdminPort,
      outbound_port: options.webOutboundPort,
      upstreams: [{ service: 'echo' }],
    });
    await allHealthy(web.sidecar, `echo.${DEMO_NAMESPACE}`, echoes.length);
    const anonymousRead = !config.auth.enabled || config.auth.anonymous.enabled;
    return { hub, addresses, adminToken, anonymousRead, echoes, web, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * Resolves once the sidecar sees `count` HEALTHY endpoints of the cluster from the hub (so the
 * demo's calls all succeed), or after `boundMs` in any case: the calls then show what is wrong.
 * Only the hub's word counts: endpoints from a cache could be a previous run's.
 */
function allHealthy(sidecar: Sidecar, cluster: string, count: number, boundMs = 15_000): Promise<void> {
  const done = (): boolean => {
    const view = sidecar.clusters.get(cluster);
    return view?.source === 'hub' && (view.endpoints ?? []).filter((e) => e.health === 'HEALTHY').length >= count;
  };
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = (): void => {
      systemClock.clearTimeout(timer);
      sidecar.clusters.off('change', check);
      resolve();
    };
    const check = (): void => {
      if (done()) finish();
    };
    const timer = systemClock.setTimeout(finish, boundMs).unref();
    sidecar.clusters.on('change', check);
  });
}
