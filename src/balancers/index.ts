/** The balancers' public surface: pickers, policies by name, routing, outlier detection, breakers. */
export { MAX_WEIGHT, MIN_WEIGHT, effectiveWeight, hostKey, type Endpoint } from './endpoint.js';
export { EMPTY_PICKER, randomIndex, type LbPolicy, type PickContext, type Picker, type PickerEnv, type RandomSource } from './picker.js';
export { DEFAULT_EWMA_DECAY_MS, EndpointStats, EndpointStatsStore, type EndpointStatsSnapshot, type LoadObserver } from './endpoint-stats.js';
export { DEFAULT_POLICY, PolicyRegistry, type PolicyDefinition, type PolicySelection } from './policy-registry.js';
export { BUILTIN_POLICIES, createPolicyRegistry } from './builtin-policies.js';
export { DEFAULT_ROUTING, selectRoutable, type Locality, type RoutingConfig, type RoutingDecision, type RoutingMode } from './routing.js';
export { PolicyBalancer, type LoadBalancer, type PolicyBalancerOptions } from './load-balancer.js';
export { LOCAL_ORIGIN_FAILURE, httpStatusForGrpc, isFailure, isGatewayFailure } from './call-outcome.js';
export {
  DEFAULT_OUTLIER_DETECTION,
  DEFAULT_SUCCESS_RATE,
  OutlierDetectionBalancer,
  type EjectionEvent,
  type EjectionReason,
  type EjectionState,
  type OutlierDetectionConfig,
  type OutlierDetectionOptions,
  type OutlierState,
} from './outlier-detection.js';
export { CircuitBreaker, DEFAULT_CIRCUIT_BREAKERS, RESOURCES, type CircuitBreakerThresholds, type Resource, type ResourceState } from './circuit-breaker.js';
export { DEFAULT_RETRY_BUDGET, RetryBudget, type RetryBudgetConfig } from './retry-budget.js';
export { hash32 } from './hash.js';
export { HashRing, MAX_RING_SIZE, RingPointCache } from './hash-ring.js';
export { roundRobinPolicy, RoundRobinPicker } from './round-robin.js';
export { weightedPolicy, SmoothWeightedPicker, MAX_EXACT_CLASSES } from './weighted.js';
export { leastRequestPolicy, PowerOfChoicesPicker, EarliestDeadlinePicker } from './least-request.js';
export { leastConnectionsPolicy, LeastConnectionsPicker } from './least-connections.js';
export { consistentHashPolicy, ConsistentHashPicker, HASH_ON, cookieValue, queryValue, type HashOn } from './consistent-hash.js';
export { randomPolicy, RandomPicker } from './random.js';
export { peakEwmaPolicy, PeakEwmaPicker } from './peak-ewma.js';
