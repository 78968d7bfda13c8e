/**
 * The sidecar's DNS server, answered from its own xDS view: the same names as the hub's, a change
 * at the hub reaching the answers with one push, services subscribed on demand, and answers that
 * go on while the hub is away. Real clients: dig and Node's dns.Resolver.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { resolveSidecarConfig, sidecarConfigSchema } from '../../src/config/sidecar-config.js';
import { parseWith } from '../../src/model/parse-input.js';
import type { ClusterChange } from '../../src/sidecar/cluster-view.js';
import { Sidecar } from '../../src/sidecar/sidecar.js';
import { startAuthHub, type AuthHub } from '../helpers/auth-hub.js';
import { dig } from '../helpers/dig.js';
import { eventually, nextEvent } from '../helpers/wait.js';

const NS = 'shop.local';

interface Fixture {
  hub: AuthHub;
  sidecar: Sidecar;
  port: number;
}

async function start(t: import('ava').ExecutionContext, dns: Record<string, unknown> = {}): Promise<Fixture> {
  const hub = await startAuthHub({}, { logLevel: 'warn' });
  const app = net.createServer((s) => s.end());
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  hub.hub.registry.putService(NS, 'api', { dns: { ttl: 20 } });
  for (const i of [1, 2]) hub.hub.registry.register({ id: `api-${i}`, service: 'api', namespace: NS, address: `10.0.1.${i}`, port: 9000 + i, ttl: 0, health: 'HEALTHY', weight: 50 * i });
  hub.hub.registry.register({ id: 'cart-1', service: 'cart', namespace: NS, address: '10.0.2.1', port: 7000, ttl: 0, health: 'HEALTHY' });
  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-dns-sidecar-'));
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, await hub.token('service', [`${NS}/web`]));
  const config = parseWith(
    sidecarConfigSchema,
    {
      service: 'web',
      namespace: NS,
      instance_id: 'web-1',
      app: { port: (app.address() as AddressInfo).port },
      hubs: [hub.addresses.grpc],
      hub_token_file: tokenFile,
      upstreams: [{ service: 'api' }],
      admin_bind: '127.0.0.1',
      admin_port: 0,
      outbound_port: 0,
      dns: { listen: '127.0.0.1:0', ...dns },
      cache_file: 'off',
      reconnect_max_backoff: '1s',
      log_level: 'warn',
    },
    'test',
    'config_invalid',
  );
  const sidecar = new Sidecar(resolveSidecarConfig(config, {}));
  const addresses = await sidecar.start();
  t.teardown(async () => {
    await sidecar.stop();
    await hub.close();
    await new Promise<void>((resolve) => app.close(() => resolve()));
  });
  await eventually('the sidecar to hold api', () => (sidecar.clusters.get(`api.${NS}`)?.endpoints !== undefined ? true : undefined));
  return { hub, sidecar, port: addresses.dnsPort! };
}

function resolver(port: number): Resolver {
  const r = new Resolver({ timeout: 5000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}

test('the sidecar answers A and SRV from its xDS view, with the TTL of the service config', async (t) => {
  const { port } = await start(t);
  const a = await resolver(port).resolve4(`api.${NS}`, { ttl: true });
  t.deepEqual(a.map((r) => r.address).sort(), ['10.0.1.1', '10.0.1.2']);
  t.true(a.every((r) => r.ttl === 20));
  const srv = await dig(port, `_api._tcp.${NS}`, 'SRV');
  t.deepEqual(srv.answer.map((r) => r.data.join(' ')).sort(), [`1 100 9002 10-0-1-2.api.${NS}.`, `1 50 9001 10-0-1-1.api.${NS}.`]);
  t.is((await dig(port, 'example.com', 'A')).status, 'REFUSED', 'outside every served zone, with no upstream');
});

test('an instance going unhealthy at the hub drops out of the answers with the next push', async (t) => {
  const { hub, sidecar, port } = await start(t);
  const pushed = nextEvent<[ClusterChange]>(sidecar.clusters, 'change', (c) => c.name === `api.${NS}` && c.endpoints);
  hub.hub.registry.reportHealth('api-2', 'UNHEALTHY');
  await pushed;
  t.deepEqual((await dig(port, `api.${NS}`, 'A')).answer.map((r) => r.data[0]), ['10.0.1.1']);
});

test('a service the sidecar does not hold is subscribed on demand; an unknown one is NXDOMAIN', async (t) => {
  const { sidecar, port } = await start(t);
  t.is(sidecar.clusters.get(`cart.${NS}`), undefined);
  t.deepEqual(await resolver(port).resolve4(`cart.${NS}`), ['10.0.2.1']);
  const nx = await dig(port, `nope.${NS}`, 'A');
  t.is(nx.status, 'NXDOMAIN');
  t.is(nx.authority[0]?.type, 'SOA');
  // A search-list expansion (`google.com` + the pod's namespace) is not a service to subscribe to.
  t.is((await dig(port, `google.com.${NS}`, 'A')).status, 'NXDOMAIN');
  t.is(sidecar.clusters.get(`com.${NS}`), undefined);
});

test('the sidecar keeps answering while the hub is away', async (t) => {
  const { hub, sidecar, port } = await start(t);
  await hub.close();
  await eventually('the sidecar to see the hub gone', () => (sidecar.clusters.staleAgeMs() > 0 ? true : undefined));
  t.deepEqual((await resolver(port).resolve4(`api.${NS}`)).sort(), ['10.0.1.1', '10.0.1.2']);
});

test('as a pod resolver with an upstream, a name of its namespace the mesh cannot answer is forwarded, also while the hub is away', async (t) => {
  // The upstream stands in for the cluster's DNS: it knows the Kubernetes Services outside the mesh.
  const cluster = await startAuthHub({ auth: { anonymous: { enabled: true, scopes: ['*'] } } }, { logLevel: 'warn' });
  t.teardown(() => cluster.close());
  for (const [id, service, address] of [['redis-1', 'redis', '10.5.5.5'], ['kv-1', 'kv', '10.5.5.6']] as const) {
    cluster.hub.registry.register({ id, service, namespace: NS, address, port: 6379, ttl: 0, health: 'HEALTHY' });
  }
  const { hub, sidecar, port } = await start(t, { upstream: `127.0.0.1:${cluster.addresses.dnsPort!}`, lookup_timeout: '500ms' });
  t.deepEqual((await resolver(port).resolve4(`api.${NS}`)).sort(), ['10.0.1.1', '10.0.1.2'], 'mesh names from the view');
  const redis = await dig(port, `redis.${NS}`, 'A');
  t.deepEqual(redis.answer.map((r) => r.data[0]), ['10.5.5.5'], 'not a mesh service: the upstream answers');
  t.true(redis.flags.includes('ra'));
  await hub.close();
  await eventually('the sidecar to see the hub gone', () => (sidecar.clusters.staleAgeMs() > 0 ? true : undefined));
  const kv = await dig(port, `kv.${NS}`, 'A');
  t.deepEqual(kv.answer.map((r) => r.data[0]), ['10.5.5.6'], 'the hub is away: the upstream still answers');
});
