/**
 * Hub replicas as users run them: `outrigger hub` processes sharing one registry through a real
 * etcd. A write through one shows on the other; one replica leads; a replica that dies takes its
 * Sessions' leases with it, and the others expire what no sidecar re-registers.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import { createRegistryClient } from '../../src/wire/registry-client.js';
import type { SessionRequest, SessionResponse } from '../../src/wire/messages.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { startHubProcess, type HubProcess } from '../helpers/hub-process.js';
import { eventually, until } from '../helpers/wait.js';

let etcd: EtcdCluster | undefined;
test.before(async () => {
  etcd = await EtcdCluster.start(1);
});
test.after.always(async () => {
  await etcd?.close();
});

async function replicas(t: ExecutionContext, n: number): Promise<HubProcess[]> {
  const prefix = `/outrigger-test/${randomUUID()}`;
  const args = ['--store.kind', 'etcd', '--store.endpoints', `[${etcd!.endpoints.join(',')}]`, '--store.prefix', prefix, '--store.lease-ttl', '2s', '--sweep-interval', '200ms'];
  const hubs = await Promise.all(Array.from({ length: n }, () => startHubProcess({ args })));
  t.teardown(() => {
    for (const h of hubs) h.proc.child.kill('SIGKILL');
  });
  return hubs;
}

async function rest(hub: HubProcess, method: string, path: string, body?: unknown): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${hub.http}${path}`, {
    method,
    headers: { authorization: `Bearer ${hub.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

async function leaderGauge(hub: HubProcess): Promise<number> {
  const res = await fetch(`${hub.http}/metrics`, { headers: { authorization: `Bearer ${hub.token}` } });
  const m = /^outrigger_hub_leader (\d)$/m.exec(await res.text());
  return Number(m?.[1] ?? -1);
}

/** A sidecar's Session to one hub: registers and holds the lease while the stream lives. */
function openSession(hub: HubProcess): { register(id: string): Promise<SessionResponse>; close(): void } {
  const client = createRegistryClient(hub.grpc);
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${hub.token}`);
  const call = client.Session(metadata);
  const answers = new Map<number, SessionResponse>();
  call.on('data', (res: SessionResponse) => answers.set(res.nonce ?? 0, res));
  call.on('error', () => undefined);
  let nonce = 0;
  return {
    register(id) {
      const n = ++nonce;
      const req: SessionRequest = {
        nonce: n,
        register: { id, service: 'echo', namespace: 'demo.local', address: '10.0.0.7', port: 8080, ttl: { seconds: 1 }, deregister_critical_after: { seconds: 2 } },
      };
      call.write(req);
      return eventually(`the answer to registering ${id}`, () => answers.get(n));
    },
    close() {
      call.cancel();
      client.close();
    },
  };
}

test('a registration through one replica is read through the other at the same version; one replica leads', async (t) => {
  const [a, b] = await replicas(t, 2);
  const created = await rest(a!, 'POST', '/api/v1/services', { id: 'one', service: 'echo', namespace: 'demo.local', address: '10.0.0.1', port: 8080 });
  t.is(created.status, 201);
  const seen = await eventually('replica B to serve the instance', async () => {
    const r = await rest(b!, 'GET', '/api/v1/services/one');
    return r.status === 200 ? r : undefined;
  });
  t.is(seen.json.data.address, '10.0.0.1');
  const ready = await rest(b!, 'GET', '/ready');
  t.is(ready.status, 200);
  t.is(ready.json.store.kind, 'etcd');
  t.false(ready.json.store.stale);
  const versions = await Promise.all([a!, b!].map(async (h) => (await rest(h, 'GET', '/api/v1/services?service_name=echo&namespace=demo.local')).json.data.registry_version as number));
  t.is(versions[0], versions[1], 'the registry version is etcd revision on both replicas');
  let gauges: number[] = [];
  await until(() => `exactly one replica to lead (gauges ${gauges.join(', ')})`, async () => {
    gauges = [await leaderGauge(a!), await leaderGauge(b!)];
    return gauges[0]! + gauges[1]! === 1;
  }, 20_000);
  // The registry's rules hold across replicas: a service with a live instance is not deleted through the other one.
  const refused = await rest(b!, 'DELETE', '/api/v1/namespaces/demo.local/services/echo');
  t.is(refused.status, 409);
});

test('SIGKILL the leading replica: what a sidecar re-registers elsewhere never vanishes; what nobody re-registers expires on the new leader', async (t) => {
  const hubs = await replicas(t, 2);
  // The replica to kill holds the Sessions and leads, so expiry must move to the other.
  let gauges: number[] = [];
  await until(() => `one replica to lead (gauges ${gauges.join(', ')})`, async () => {
    gauges = await Promise.all(hubs.map(leaderGauge));
    return gauges[0]! + gauges[1]! === 1;
  }, 20_000);
  const [a, b] = gauges[0] === 1 ? [hubs[0], hubs[1]] : [hubs[1], hubs[0]];
  const onA = openSession(a!);
  t.teardown(() => onA.close());
  t.falsy((await onA.register('kept')).error);
  t.falsy((await onA.register('gone')).error);
  await until('replica B to see both held', async () => {
    const r = await rest(b!, 'GET', '/api/v1/services?service_name=echo&namespace=demo.local');
    return (r.json.data.services as Array<{ id: string; lease: { held: boolean } }>).filter((i) => i.lease.held).length === 2;
  });
  a!.proc.child.kill('SIGKILL');
  await a!.proc.exited;
  // The sidecar of `kept` reconnects to B at once, as the registrar does on a lost stream.
  const onB = openSession(b!);
  t.teardown(() => onB.close());
  t.falsy((await onB.register('kept')).error);
  const seenKept = new Set<string>();
  await until('`gone` to be removed by the surviving replica', async () => {
    const kept = await rest(b!, 'GET', '/api/v1/services/kept');
    seenKept.add(kept.status === 200 ? kept.json.data.health : `status ${kept.status}`);
    return (await rest(b!, 'GET', '/api/v1/services/gone')).status === 404;
  }, 30_000, 50);
  t.deepEqual([...seenKept], ['HEALTHY'], 'the re-registered instance stayed HEALTHY throughout');
  t.is(await leaderGauge(b!), 1, 'the survivor leads');
});
