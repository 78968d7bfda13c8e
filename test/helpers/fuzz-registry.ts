/**
 * The registry the hub fuzzers run against: a few namespaces, services and instances that
 * generated requests name (so they reach past "not found" into the handlers), put back before
 * each case when a case removed them, and trimmed when accepted writes have piled up, so a run
 * of any length stays small and every case meets the same world.
 */
import type { Registry } from '../../src/registry/registry.js';
import { startAuthHub, type AuthHub } from './auth-hub.js';

/** The identities the hub fuzzers call with. */
export type FuzzTokens = Record<'admin' | 'operator' | 'viewer' | 'service' | 'other-operator', string>;

/**
 * A hub with auth on for a fuzz run: no write rate limit (the fuzzer is after the handlers, and
 * 429s would hide them) and no lease sweeps (nothing may change the registry but the request
 * under test), with a token per role.
 */
export async function startFuzzHub(): Promise<{ hub: AuthHub; tokens: FuzzTokens }> {
  const hub = await startAuthHub({ limits: { writes_per_second: 0 } }, { logLevel: 'warn' });
  hub.hub.registry.stop();
  const tokens: FuzzTokens = {
    admin: hub.admin,
    operator: await hub.token('operator', ['demo.local']),
    viewer: await hub.token('viewer', ['demo.local']),
    service: await hub.token('service', ['demo.local/echo']),
    'other-operator': await hub.token('operator', ['other.local']),
  };
  return { hub, tokens };
}

export const FUZZ_NAMESPACES = ['demo.local', 'other.local', 'empty.local'] as const;
export const FUZZ_SERVICES = [
  ['demo.local', 'echo'],
  ['demo.local', 'idle'],
  ['other.local', 'api'],
] as const;
export const FUZZ_INSTANCES = [
  { id: 'echo-1', service: 'echo', namespace: 'demo.local', address: '10.0.0.1', port: 8080, ttl: 0 },
  { id: 'echo-2', service: 'echo', namespace: 'demo.local', address: '10.0.0.2', port: 8081, ttl: 0, zone: 'z1', version: 'v2', metadata: { team: 'a' } },
  { id: 'api-1', service: 'api', namespace: 'other.local', address: '10.0.1.1', port: 9090, ttl: 0 },
] as const;

const SEEDED_IDS: ReadonlySet<string> = new Set(FUZZ_INSTANCES.map((i) => i.id));
const SEEDED_SERVICES: ReadonlySet<string> = new Set(FUZZ_SERVICES.map(([ns, s]) => `${s}.${ns}`));
const SEEDED_NAMESPACES: ReadonlySet<string> = new Set(FUZZ_NAMESPACES);

/** How much accepted writes may add before the extras are removed. */
const MAX_EXTRA = { instances: 40, services: 30, namespaces: 30 };

/**
 * Puts back what a case removed and trims what cases added. Leases are not swept during a fuzz
 * run (the caller stops the sweep), so nothing changes between a case's two snapshots but the
 * request itself.
 */
export function reseed(registry: Registry): void {
  const instances = [...registry.allInstances()];
  if (instances.length - SEEDED_IDS.size > MAX_EXTRA.instances) {
    for (const inst of instances) if (!SEEDED_IDS.has(inst.id)) registry.deregister(inst.id);
  }
  const services = registry.listServices();
  if (services.length - SEEDED_SERVICES.size > MAX_EXTRA.services) {
    for (const svc of services) {
      if (SEEDED_SERVICES.has(`${svc.name}.${svc.namespace}`)) continue;
      for (const inst of registry.instancesOf(svc.namespace, svc.name)) registry.deregister(inst.id);
      registry.deleteService(svc.namespace, svc.name);
    }
  }
  const namespaces = registry.listNamespaces();
  if (namespaces.length - SEEDED_NAMESPACES.size > MAX_EXTRA.namespaces) {
    for (const ns of namespaces) {
      if (SEEDED_NAMESPACES.has(ns.name) || ns.name === registry.defaultNamespace) continue;
      for (const svc of registry.listServices(ns.name)) {
        for (const inst of registry.instancesOf(svc.namespace, svc.name)) registry.deregister(inst.id);
        registry.deleteService(svc.namespace, svc.name);
      }
      registry.deleteNamespace(ns.name);
    }
  }
  for (const name of FUZZ_NAMESPACES) if (registry.getNamespace(name) === undefined) registry.createNamespace({ name });
  for (const [ns, name] of FUZZ_SERVICES) if (registry.getService(ns, name) === undefined) registry.putService(ns, name);
  for (const inst of FUZZ_INSTANCES) if (registry.getInstance(inst.id) === undefined) registry.register(inst);
}
