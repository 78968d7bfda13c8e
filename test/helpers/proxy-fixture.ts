/** An OutboundProxy over a StaticUpstreamSource on loopback port 0, for tests. */
import { OutboundProxy, type OutboundProxyOptions, type UpstreamEntry } from '../../src/proxy/outbound-proxy.js';
import { StaticUpstreamSource, type StaticClusterInput } from '../../src/proxy/upstream-source.js';

export interface ProxyFixture {
  proxy: OutboundProxy;
  source: StaticUpstreamSource;
  port: number;
  localPorts: Record<string, number>;
  stop(): Promise<void>;
}

export async function startProxy(
  clusters: Record<string, StaticClusterInput>,
  opts: { upstreams?: UpstreamEntry[]; passthrough?: boolean; namespace?: string; extra?: Partial<OutboundProxyOptions> } = {},
): Promise<ProxyFixture> {
  const source = new StaticUpstreamSource(clusters);
  const proxy = new OutboundProxy({
    source,
    namespace: opts.namespace ?? 'demo.local',
    listen: { host: '127.0.0.1', port: 0 },
    upstreams: opts.upstreams ?? [],
    passthrough: opts.passthrough,
    drainTimeoutMs: 2000,
    ...opts.extra,
  });
  const { port, localPorts } = await proxy.start();
  return { proxy, source, port, localPorts, stop: () => proxy.stop() };
}

export function endpointsOf(backends: readonly { name: string; port: number }[], extra: { weight?: number }[] = []) {
  return backends.map((b, i) => ({ id: b.name, address: '127.0.0.1', port: b.port, ...(extra[i] ?? {}) }));
}
