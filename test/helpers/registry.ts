import { createPolicyRegistry } from '../../src/balancers/builtin-policies.js';
import { Registry, type RegistryOptions } from '../../src/registry/registry.js';

/** A Registry with the built-in policies, as the hub wires it; options as the tests need them. */
export function newRegistry(options: Partial<RegistryOptions> = {}): Registry {
  return new Registry({ policies: createPolicyRegistry(), ...options });
}
