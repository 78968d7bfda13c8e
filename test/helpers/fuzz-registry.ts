/**
 * The registry the hub fuzzers run against: a few namespaces, services and instances that
 * generated requests name (so they reach past "not found" into the handlers), put back before
 * each case when a case removed them, and trimmed when accepted writes have piled up, so a run
 * of any length stays small and every case meets the same world.
 */
import type { Registry } from '../../src/registry/registry.js';
import type { RegisterInput } from '../../src/registry/validation.js';
import { startAuthHub, type AuthHub } from './auth-hub.js';

/** The identities the hub fuzzers call with. */
export type FuzzTokens = Record<'admin' | 'operator' | 'viewer' | 'service' | 'other-operator', string>;

/**
 * A hub with auth on for a fuzz run: no write rate limit (the fuzzer is after the handlers, and
 * 429s would hide them) and no lease sweeps (nothing may change the registry but the request
 * under test), with a token per role; `config` adds to the hub's config (a dialect's settings).
 */
export async function startFuzzHub(config: Record<string, unknown> = {}): Promise<{ hub: AuthHub; tokens: FuzzTokens }> {
  const hub = await startAuthHub({ limits: { writes_per_second: 0 }, ...config }, { logLevel: 'warn' });
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

/** How much accepted writes may add before the extras are removed. */
const MAX_EXTRA = { instances: 40, services: 30, namespaces: 30 };

/** An instance a suite adds to the fuzz registry (one a dialect reads in its own way), as the registry takes it. */
export type SeedInstance = RegisterInput & { id: string; service: string; namespace: string };

/**
 * Puts back what a case removed and trims what cases added; `extra` are a suite's own instances,
 * kept and put back like the shared ones. Leases are not swept during a fuzz run (the caller
 * stops the sweep), so nothing changes between a case's two snapshots but the request itself.
 */
export function reseed(registry: Registry, extra: readonly SeedInstance[] = []): void {
  const seeds = [...FUZZ_INSTANCES, ...extra];
  const seededIds = new Set(seeds.map((i) => i.id));
  const seededServices = new Set([...FUZZ_SERVICES.map(([ns, s]) => `${s}.${ns}`), ...extra.map((i) => `${i.service}.${i.namespace}`)]);
  const instances = [...registry.allInstances()];
  if (instances.length - seededIds.size > MAX_EXTRA.instances) {
    for (const inst of instances) if (!seededIds.has(inst.id)) registry.deregister(inst.id);
  }
  const services = registry.listServices();
  if (services.length - seededServices.size > MAX_EXTRA.services) {
    for (const svc of services) {
      if (seededServices.has(`${svc.name}.${svc.namespace}`)) continue;
      for (const inst of registry.instancesOf(svc.namespace, svc.name)) registry.deregister(inst.id);
      registry.deleteService(svc.namespace, svc.name);
    }
  }
  const namespaces = registry.listNamespaces();
  if (namespaces.length - FUZZ_NAMESPACES.length > MAX_EXTRA.namespaces) {
    for (const ns of namespaces) {
      if ((FUZZ_NAMESPACES as readonly string[]).includes(ns.name) || ns.name === registry.defaultNamespace) continue;
      for (const svc of registry.listServices(ns.name)) {
        for (const inst of registry.instancesOf(svc.namespace, svc.name)) registry.deregister(inst.id);
        registry.deleteService(svc.namespace, svc.name);
      }
      registry.deleteNamespace(ns.name);
    }
  }
  for (const name of FUZZ_NAMESPACES) if (registry.getNamespace(name) === undefined) registry.createNamespace({ name });
  for (const [ns, name] of FUZZ_SERVICES) if (registry.getService(ns, name) === undefined) registry.putService(ns, name);
  for (const inst of seeds) if (registry.getInstance(inst.id) === undefined) registry.register(inst);
}
