/** Shared helpers for the balancer tests: endpoints, a seeded random source, pick counting. */
import type { Endpoint } from '../../src/balancers/endpoint.js';
import type { PickContext, Picker, RandomSource } from '../../src/balancers/picker.js';
import type { Health } from '../../src/model/health.js';

/**
 * A deterministic source in [0, 1): a Weyl sequence through a 32-bit integer mixer.
 * Good enough for statistics over thousands of draws, and the same for every run.
 */
export function seededRandom(seed = 1): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  };
}

export interface EndpointSpec {
  weight?: number;
  zone?: string;
  region?: string;
  health?: Health;
}

export function endpoint(i: number, spec: EndpointSpec = {}): Endpoint {
  return {
    id: `ep-${i}`,
    address: `10.0.${(i >> 8) & 255}.${i & 255}`,
    port: 8080,
    weight: spec.weight ?? 1,
    zone: spec.zone ?? 'zone-a',
    region: spec.region ?? 'region-1',
    health: spec.health ?? 'HEALTHY',
    metadata: {},
  };
}

export function endpoints(n: number, spec: (i: number) => EndpointSpec = () => ({})): Endpoint[] {
  return Array.from({ length: n }, (_, i) => endpoint(i, spec(i)));
}

/** Picks `times` times and counts picks per endpoint id (undefined picks under '(none)'). */
export function countPicks(picker: Picker, times: number, context?: (i: number) => PickContext): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < times; i++) {
    const id = picker.pick(context?.(i))?.id ?? '(none)';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

export function share(counts: Map<string, number>, id: string, total: number): number {
  return (counts.get(id) ?? 0) / total;
}

/** A pick context carrying one header. */
export function headerContext(name: string, value: string): PickContext {
  return { header: (n) => (n === name ? value : undefined) };
}
