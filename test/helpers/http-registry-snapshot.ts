import type { Registry } from '../../src/registry/registry.js';

/**
 * Everything a registry holds, as one comparable value: equal before and after a request
 * proves the request changed nothing (the version alone would miss a change without a bump).
 */
export function registrySnapshot(registry: Registry): unknown {
  const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return {
    version: registry.version,
    namespaces: registry.listNamespaces(),
    services: registry.listServices(),
    instances: [...registry.allInstances()].sort(byId),
  };
}
