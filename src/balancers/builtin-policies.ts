/**
 * The policies Outrigger ships, and a registry that has them all. Each caller gets its own
 * registry instance, so a test or an embedder can add a policy without touching anyone else's.
 */
import { consistentHashPolicy } from './consistent-hash.js';
import { leastConnectionsPolicy } from './least-connections.js';
import { leastRequestPolicy } from './least-request.js';
import { peakEwmaPolicy } from './peak-ewma.js';
import { PolicyRegistry, type PolicyDefinition } from './policy-registry.js';
import { randomPolicy } from './random.js';
import { roundRobinPolicy } from './round-robin.js';
import { weightedPolicy } from './weighted.js';

export const BUILTIN_POLICIES: readonly PolicyDefinition[] = [
  roundRobinPolicy,
  weightedPolicy,
  leastRequestPolicy,
  leastConnectionsPolicy,
  consistentHashPolicy,
  randomPolicy,
  peakEwmaPolicy,
];

/** A new registry holding every built-in policy. */
export function createPolicyRegistry(): PolicyRegistry {
  const registry = new PolicyRegistry();
  for (const definition of BUILTIN_POLICIES) registry.register(definition);
  return registry;
}
