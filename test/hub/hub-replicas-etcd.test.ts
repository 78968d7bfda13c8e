/**
 * Hub replicas as users run them: `outrigger hub` processes sharing one registry through a real
 * etcd. A write through one shows on the other; one replica leads; a replica that dies takes its
 * Sessions' leases with it, and the others expire what no sidecar re-registers; sidecars whose
 * replica dies re-register on another while their traffic flows on.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import { createRegistryClient } from '../../src/wire/registry-client.js';
import type { SessionRequest, SessionResponse } from '../../src/wire/messages.js';
import { startEchoApp } from '../../src/demo/echo-app.js';
import { getJson, PROCESS_POLL_MS, PROCESS_WAIT_MS, watching } from '../helpers/cli-ports.js';
import { runCli } from '../helpers/cli-process.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { startHubProcess, type HubProcess } from '../helpers/hub-process.js';
import { startSteadyLoad } from '../helpers/rolling-load.js';
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

interface InstanceRow {
  id: string;
  health: string;
  lease: { held: boolean };
}

/** The Sessions a replica holds open now (its subscribers gauge); NaN while it does not answer. */
async function sessionsOn(hub: HubProcess): Promise<number> {
  try {
    const text = await fetch(`${hub.http}/metrics`, { headers: { authorization: `Bearer ${hub.token}` }, signal: AbortSignal.timeout(5000) }).then((r) => r.text());
    return Number(/^outrigger_hub_subscribers\{api="session"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  } catch {
    return Number.NaN;
  }
}

// Serial: thirteen processes on a small machine are load enough without the tests above beside them.
test.serial('3 replicas, 10 sidecar processes and steady traffic through one: SIGKILL the replica holding most Sessions; every sidecar re-registers elsewhere, no instance leaves any view, no request fails', async (t) => {
  const startedAt = Date.now();
  const prefix = `/outrigger-test/${randomUUID()}`;
  // A short lease TTL: were a sidecar not to re-register in time, its instance would lapse within the test.
  const leaseTtlMs = 5000;
  const args = ['--store.kind', 'etcd', '--store.endpoints', `[${etcd!.endpoints.join(',')}]`, '--store.prefix', prefix, '--store.lease-ttl', `${leaseTtlMs / 1000}s`, '--sweep-interval', '200ms'];
  // One data dir for all three, so the sidecars' token is valid on every replica.
  const first = await startHubProcess({ args });
  const hubs = [first, ...(await Promise.all([0, 1].map(() => startHubProcess({ args, dataDir: first.dataDir }))))];
  const token = await first.tokenFile('service', ['demo.local']);
  // `client` sends the traffic; web-1..web-9 serve it. Each sidecar lists every replica, the
  // first listed taking its Session: 5 on the first replica (the client among them), 3 and 2 on the others.
  const ids = ['client', ...Array.from({ length: 9 }, (_, i) => `web-${i + 1}`)];
  const webIds = ids.slice(1).sort();
  const apps = await Promise.all(ids.map((id) => startEchoApp(id, 'zone-a')));
  const order = (i: number): HubProcess[] => (i < 5 ? [0, 1, 2] : i < 8 ? [1, 2, 0] : [2, 0, 1]).map((h) => hubs[h]!);
  const sidecars = ids.map((id, i) =>
    runCli([
      'sidecar', '--admin-bind', '127.0.0.1', '--admin-port', '0', '--outbound-port', '0', '--dns.listen', 'off', '--log-level', 'warn',
      '--hub-token-file', token, '--service', i === 0 ? 'client' : 'web', '--namespace', 'demo.local', '--instance-id', id, '--app.port', String(apps[i]!.port),
      '--health-check', JSON.stringify({ type: 'http', path: '/healthz', interval: '200ms', timeout: '1s' }),
      '--hubs', JSON.stringify(order(i).map((h) => h.grpc)),
      '--upstreams', JSON.stringify([{ service: 'web' }]),
      '--heartbeat-interval', '1s', '--reconnect-max-backoff', '1s',
    ], { TMPDIR: mkdtempSync(path.join(tmpdir(), 'outrigger-sidecar-test-')) }),
  );
  t.teardown(async () => {
    for (const p of [...sidecars, ...hubs.map((h) => h.proc)]) p.child.kill('SIGKILL');
    await Promise.all(apps.map((a) => a.close()));
  });
  const admins = await Promise.all(sidecars.map(async (s) => (await s.waitForOutput(/admin\s+(http:\/\/\S+)/))[1]!));
  const outbound = (await sidecars[0]!.waitForOutput(/outbound\s+(http:\/\/\S+)/))[1]!;
  const view = async (hub: HubProcess, service: string): Promise<InstanceRow[]> =>
    (await getJson<{ data: { services: InstanceRow[] } }>(`${hub.http}/api/v1/services?service_name=${service}&namespace=demo.local`, hub.token))?.body.data.services ?? [];
  const instancesOn = async (hub: HubProcess): Promise<InstanceRow[]> => [...(await view(hub, 'client')), ...(await view(hub, 'web'))];
  const sidecarView = async (admin: string): Promise<string[]> =>
    ((await getJson<ClustersJson>(`${admin}/clusters`))?.body.clusters.find((c) => c.name === 'web.demo.local')?.endpoints ?? []).filter((e) => e.health === 'HEALTHY').map((e) => e.id).sort();
  let sessions: number[] = [];
  let pending = '';
  await until(() => watching(`every instance HEALTHY and held on every replica, in every sidecar's view, and a Session per sidecar; last seen: ${pending}`, sidecars)(), async () => {
    for (const h of hubs) {
      const v = await instancesOn(h);
      pending = `${h.http} has ${v.map((i) => `${i.id} ${i.health}${i.lease.held ? ' held' : ''}`).join(', ')}`;
      if (v.length !== ids.length || v.some((i) => i.health !== 'HEALTHY' || !i.lease.held)) return false;
    }
    for (const a of admins) {
      const seen = await sidecarView(a);
      pending = `sidecar ${a} sees ${seen.join(', ')}`;
      if (seen.join() !== webIds.join()) return false;
    }
    sessions = await Promise.all(hubs.map(sessionsOn));
    pending = `Sessions by replica: ${sessions.join(', ')}`;
    return sessions.reduce((a, b) => a + b, 0) === ids.length;
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  t.log(`all ${ids.length} sidecars registered and routing ${Date.now() - startedAt} ms after the start; RSS of the sidecars: ${sidecars.map((s) => rssMb(s.child.pid!)).join(' + ')} MB; of the 3 replicas: ${hubs.map((h) => rssMb(h.proc.child.pid!)).join(' + ')} MB`);

  const load = startSteadyLoad({ proxy: outbound, host: 'web.demo.local', workers: 4, ratePerSecond: 40, maxRequests: 100_000, maxDurationMs: 120_000 });
  t.teardown(() => load.stop().then(() => undefined));
  await until('traffic to flow before the kill', () => load.progress.ok >= 40 || load.progress.failures.length > 0, PROCESS_WAIT_MS);

  // The replica to kill is the one the gauges say holds most Sessions, not the one the order meant to.
  const most = sessions.indexOf(Math.max(...sessions));
  const dead = hubs[most]!;
  const alive = hubs.filter((h) => h !== dead);
  const moving = sessions[most]!;
  dead.proc.child.kill('SIGKILL');
  await dead.proc.exited;
  const killedAt = Date.now();
  // Past the dead replica's lease TTL (and a few sweeps), every Session open on a survivor and every
  // instance held there; meanwhile nothing leaves the survivors' views or any sidecar's view.
  const lapses: string[] = [];
  let movedAfterMs: number | undefined;
  await until(watching('the sidecars to re-register on the surviving replicas', sidecars), async () => {
    const open = (await Promise.all(alive.map(sessionsOn))).reduce((a, b) => a + b, 0);
    if (open === ids.length) movedAfterMs ??= Date.now() - killedAt;
    let settled = open === ids.length && Date.now() - killedAt > leaseTtlMs + 1000;
    for (const h of alive) {
      const v = await instancesOn(h);
      for (const id of ids) {
        const inst = v.find((i) => i.id === id);
        if (inst === undefined || inst.health !== 'HEALTHY') lapses.push(`${id} ${inst?.health ?? 'missing'} on ${h.http}`);
        if (inst?.lease.held !== true) settled = false;
      }
    }
    for (const a of admins) {
      const seen = await sidecarView(a);
      if (seen.join() !== webIds.join()) lapses.push(`sidecar ${a} sees ${seen.join() || 'nothing'}`);
    }
    return settled;
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  const sentAtSettle = load.progress.sent;
  await until('traffic to go on after the fail-over', () => load.progress.sent >= sentAtSettle + 40, PROCESS_WAIT_MS);
  const result = await load.stop();
  t.log(`${moving} Sessions moved to the survivors ${movedAfterMs} ms after the kill; ${result.sent} requests sent, ${result.ok} answered 2xx`);
  t.deepEqual(lapses, [], 'no instance left any view');
  t.deepEqual(result.failures, [], 'the data plane failed no request');
  t.is(result.ok, result.sent, 'every request sent was answered');
  t.deepEqual(Object.keys(result.byInstance).filter((id) => !webIds.includes(id)), [], 'only web instances served');
  t.true(sidecars.every((s) => s.child.exitCode === null), 'every sidecar kept running');
});

/** A process's resident memory in MB, from /proc (Linux). */
function rssMb(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return Math.round(kb / 1024);
}
