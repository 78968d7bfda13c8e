/**
 * Hub replicas as users run them: `outrigger hub` processes sharing one registry through a real
 * etcd. A write through one shows on the other; one replica leads; a replica that dies takes its
 * Sessions' leases with it, and the others expire what no sidecar re-registers.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import { createRegistryClient } from '../../src/wire/registry-client.js';
import type { SessionRequest, SessionResponse } from '../../src/wire/messages.js';
import { flippableApp, getJson, PROCESS_POLL_MS, PROCESS_WAIT_MS, watching } from '../helpers/cli-ports.js';
import { runCli } from '../helpers/cli-process.js';
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
  const args = ['--store.kind', 'etcd', '--store.endpoints', `[${etcd!.endpoints.join(',')}]`, '--store.prefix', prefix, '--store.lease-ttl', '3s', '--sweep-interval', '200ms'];
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

test('a registration through one replica is read through the other at the same version, and so is a renewal in its cached /discover answer; one replica leads', async (t) => {
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
  // A renewal is lease bookkeeping, not broadcast: B applies it from etcd's watch, and the
  // /discover answer B caches per revision must show it, not the renewal before.
  const discover = async (hub: HubProcess): Promise<string | undefined> =>
    (await rest(hub, 'GET', '/api/v1/discover?service_name=echo&namespace=demo.local')).json.data.services.find((i: { id: string }) => i.id === 'leased')?.lease.renewed_at;
  t.is((await rest(a!, 'POST', '/api/v1/services', { id: 'leased', service: 'echo', namespace: 'demo.local', address: '10.0.0.2', port: 8080, ttl: '30s' })).status, 201);
  for (let i = 0; i < 3; i++) {
    await until('replica B to have cached an answer with the instance', async () => (await discover(b!)) !== undefined);
    const renewed = (await rest(a!, 'POST', '/api/v1/services/leased/heartbeat', {})).json.data.lease.renewed_at as string;
    let shown: string | undefined;
    await until(() => `replica B's /discover to show the renewal at ${renewed} (shows ${shown})`, async () => (shown = await discover(b!)) === renewed);
  }
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

interface ClustersJson {
  clusters: Array<{ name: string; endpoints: Array<{ id: string; health: string }> }>;
}

test('3 replicas, 3 sidecar processes listing all of them: SIGKILL the replica holding every Session; each sidecar re-registers elsewhere and no instance leaves any view', async (t) => {
  const prefix = `/outrigger-test/${randomUUID()}`;
  const args = ['--store.kind', 'etcd', '--store.endpoints', `[${etcd!.endpoints.join(',')}]`, '--store.prefix', prefix, '--store.lease-ttl', '3s', '--sweep-interval', '200ms'];
  // One data dir for all three, so the sidecars' token is valid on every replica.
  const first = await startHubProcess({ args });
  const hubs = [first, ...(await Promise.all([0, 1].map(() => startHubProcess({ args, dataDir: first.dataDir }))))];
  const token = await first.tokenFile('service', ['demo.local']);
  const apps = await Promise.all([0, 1, 2].map(() => flippableApp()));
  const ids = ['web-0', 'web-1', 'web-2'];
  const sidecars = ids.map((id, i) =>
    runCli([
      'sidecar', '--admin-bind', '127.0.0.1', '--admin-port', '0', '--outbound-port', '0', '--dns.listen', 'off', '--log-level', 'warn',
      '--hub-token-file', token, '--service', 'web', '--namespace', 'demo.local', '--instance-id', id, '--app.port', String(apps[i]!.port),
      '--health-check', JSON.stringify({ type: 'http', path: '/healthz', interval: '200ms', timeout: '1s' }),
      // The first listed replica takes every Session: the one to kill.
      '--hubs', JSON.stringify(hubs.map((h) => h.grpc)),
      '--upstreams', JSON.stringify([{ service: 'web' }]),
      '--heartbeat-interval', '1s', '--reconnect-max-backoff', '1s',
    ], { TMPDIR: mkdtempSync(path.join(tmpdir(), 'outrigger-sidecar-test-')) }),
  );
  t.teardown(async () => {
    for (const p of [...sidecars, ...hubs.map((h) => h.proc)]) p.child.kill('SIGKILL');
    await Promise.all(apps.map((a) => a.close()));
  });
  const admins = await Promise.all(sidecars.map(async (s) => (await s.waitForOutput(/admin\s+(http:\/\/\S+)/))[1]!));
  const [dead, ...alive] = hubs as [HubProcess, HubProcess, HubProcess];
  const view = async (hub: HubProcess): Promise<Array<{ id: string; health: string; lease: { held: boolean } }>> =>
    (await getJson<{ data: { services: Array<{ id: string; health: string; lease: { held: boolean } }> } }>(`${hub.http}/api/v1/services?service_name=web&namespace=demo.local`, hub.token))?.body.data.services ?? [];
  const sidecarView = async (admin: string): Promise<string[]> =>
    ((await getJson<ClustersJson>(`${admin}/clusters`))?.body.clusters.find((c) => c.name === 'web.demo.local')?.endpoints ?? []).filter((e) => e.health === 'HEALTHY').map((e) => e.id).sort();
  await until(watching('every instance HEALTHY and held on every replica, and in every sidecar\'s view', sidecars), async () => {
    for (const h of hubs) {
      const v = await view(h);
      if (v.length !== 3 || v.some((i) => i.health !== 'HEALTHY' || !i.lease.held)) return false;
    }
    for (const a of admins) if ((await sidecarView(a)).join() !== ids.join()) return false;
    return true;
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);

  dead.proc.child.kill('SIGKILL');
  await dead.proc.exited;
  // Until each sidecar holds a Session on a survivor again (and past the dead replica's lease
  // TTL), every instance stays HEALTHY on both survivors and in every sidecar's view.
  const lapses: string[] = [];
  const killedAt = Date.now();
  await until(watching('the sidecars to re-register on the surviving replicas', sidecars), async () => {
    let settled = Date.now() - killedAt > 6000;
    for (const h of alive) {
      const v = await view(h);
      for (const id of ids) {
        const inst = v.find((i) => i.id === id);
        if (inst === undefined || inst.health !== 'HEALTHY') lapses.push(`${id} ${inst?.health ?? 'missing'} on ${h.http}`);
        if (inst?.lease.held !== true) settled = false;
      }
    }
    for (const a of admins) {
      const seen = await sidecarView(a);
      if (seen.join() !== ids.join()) lapses.push(`sidecar ${a} sees ${seen.join() || 'nothing'}`);
    }
    return settled;
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  t.deepEqual(lapses, [], 'no instance left any view');
  t.true(sidecars.every((s) => s.child.exitCode === null), 'every sidecar kept running');
});
