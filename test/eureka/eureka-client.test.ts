/**
 * The Eureka API with the npm Eureka client (eureka-js-client), unmodified, against a whole hub
 * with auth on: registration, fetch, OUT_OF_SERVICE, lease expiry; and the same instances over
 * REST, and a REST registration over Eureka. Leases are short (2 s, renewed every 0.5 s) and the
 * hub sweeps leases every 200 ms, so the suite stays quick.
 */
import test from 'ava';
import { Eureka } from 'eureka-js-client';
import { startAuthHub, type AuthHub } from '../helpers/auth-hub.js';
import { until } from '../helpers/wait.js';

const quiet = { warn() {}, info() {}, debug() {}, error() {} };

function client(hub: AuthHub, token: string, id: string | undefined, port = 8080): Eureka {
  const base = `http://eureka:${token}@${new URL(hub.addresses.http).host}/eureka/v2/apps/`;
  return new Eureka({
    logger: quiet,
    instance: id === undefined
      ? undefined as never
      : {
          app: 'ORDER-SERVICE',
          instanceId: id,
          hostName: `${id}.example.test`,
          ipAddr: '127.0.0.1',
          port: { $: port, '@enabled': true },
          vipAddress: 'order-service',
          statusPageUrl: `http://${id}.example.test:${port}/info`,
          dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
          leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: 2 },
        } as never,
    eureka: {
      serviceUrls: { default: [base] },
      heartbeatInterval: 500,
      registryFetchInterval: 200,
      maxRetries: 0,
      registerWithEureka: id !== undefined,
      fetchRegistry: true,
    },
  } as never);
}

const start = (c: Eureka): Promise<void> => new Promise((resolve, reject) => c.start((err: unknown) => (err ? reject(err as Error) : resolve())));
const stop = (c: Eureka): Promise<void> => new Promise((resolve) => c.stop(() => resolve()));

test('eureka-js-client: two register, a third sees both UP, OUT_OF_SERVICE shows, a silent one expires', async (t) => {
  const hub = await startAuthHub({ sweep_interval: '200ms' });
  t.teardown(() => hub.close());
  const token = await hub.token('operator', ['default']);
  const a = client(hub, token, 'order-1', 8081);
  const b = client(hub, token, 'order-2', 8082);
  const reader = client(hub, token, undefined);
  t.teardown(async () => {
    await stop(a);
    await stop(b);
    await stop(reader);
  });
  await start(a);
  await start(b);
  await start(reader);

  const up = () => reader.getInstancesByAppId('ORDER-SERVICE').filter((i) => i.status === 'UP').map((i) => i.instanceId).sort();
  await until('both instances UP in the third client', () => up().length === 2);
  t.deepEqual(up(), ['order-1', 'order-2']);
  t.deepEqual(reader.getInstancesByVipAddress('order-service').length, 2);

  // The same instances over REST: one registry.
  const rest = await hub.rest('GET', '/api/v1/services?service_name=order-service&namespace=default', hub.admin);
  t.deepEqual(rest.json.data.services.map((s: { id: string; port: number; health: string }) => [s.id, s.port, s.health]), [['order-1', 8081, 'HEALTHY'], ['order-2', 8082, 'HEALTHY']]);

  // OUT_OF_SERVICE, as an operator sets it; the client's fetch (which keeps only UP) drops it.
  const oos = await fetch(`${hub.addresses.http}/eureka/v2/apps/ORDER-SERVICE/order-2/status?value=OUT_OF_SERVICE`, { method: 'PUT', headers: { authorization: `Bearer ${token}` } });
  t.is(oos.status, 200);
  await until('order-2 out of the UP list', () => up().length === 1);
  t.deepEqual(up(), ['order-1']);
  const full = await fetch(`${hub.addresses.http}/eureka/v2/apps/ORDER-SERVICE/order-2`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
  const shown = (await full.json()) as { instance: { status: string; overriddenStatus: string } };
  t.is(shown.instance.status, 'OUT_OF_SERVICE');
  t.is(shown.instance.overriddenStatus, 'OUT_OF_SERVICE');
  t.is((await hub.rest('GET', '/api/v1/services/order-2', hub.admin)).json.data.health, 'DRAINING');

  // order-1 stops renewing: after its 2 s lease it is gone, from Eureka and from REST.
  clearInterval((a as unknown as { heartbeat: NodeJS.Timeout }).heartbeat);
  await until('order-1 expired', async () => (await hub.rest('GET', '/api/v1/services/order-1', hub.admin)).status === 404, 15_000);
  await until('order-1 gone from the client', () => reader.getInstancesByAppId('ORDER-SERVICE').every((i) => i.instanceId !== 'order-1'));
  t.false(reader.getInstancesByAppId('ORDER-SERVICE').some((i) => i.instanceId === 'order-1'), 'the expired instance is no longer in the fetch');
});
