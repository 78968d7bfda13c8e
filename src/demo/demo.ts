import type { Logger } from '../common/logger.js';
import type { HubConfig } from '../config/hub-config.js';
import { Hub, type HubAddresses } from '../hub/hub.js';
import { startEchoApp, type EchoApp } from './echo-app.js';

export const DEMO_NAMESPACE = 'demo.local';

export interface Demo {
  hub: Hub;
  addresses: HubAddresses;
  apps: EchoApp[];
  stop(): Promise<void>;
}

/**
 * The embedded default: a hub with the in-memory store and three sample echo apps on loopback,
 * registered as `echo.demo.local` across two zones.
 */
export async function startDemo(config: HubConfig, logger: Logger): Promise<Demo> {
  const hub = new Hub(config, { logger });
  const apps = await Promise.all([
    startEchoApp('echo-1', 'zone-a'),
    startEchoApp('echo-2', 'zone-a'),
    startEchoApp('echo-3', 'zone-b'),
  ]);
  let addresses: HubAddresses;
  try {
    addresses = await hub.start();
  } catch (err) {
    await Promise.all(apps.map((a) => a.close()));
    throw err;
  }
  hub.registry.putService(DEMO_NAMESPACE, 'echo', { lb_policy: 'round_robin' });
  apps.forEach((app, i) => {
    hub.registry.register({
      id: app.name,
      service: 'echo',
      namespace: DEMO_NAMESPACE,
      address: '127.0.0.1',
      port: app.port,
      protocol: 'http',
      version: 'v1',
      zone: i < 2 ? 'zone-a' : 'zone-b',
      region: 'local',
      source: 'static',
      metadata: { app: 'echo' },
    });
  });
  return {
    hub,
    addresses,
    apps,
    async stop() {
      await hub.stop();
      await Promise.all(apps.map((a) => a.close()));
    },
  };
}
