/**
 * Blocking queries and leases through the Consul API: a `consul.watch` on `health.service` sees
 * a new instance as soon as it is registered; a blocking read returns at its wait with the same
 * index; a TTL check not renewed goes critical and, after DeregisterCriticalServiceAfter, the
 * instance is removed (the lease). Long waits run on a ManualClock.
 */
import test from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import { startConsulHub } from '../helpers/consul-hub.js';
import { eventually } from '../helpers/wait.js';

test('a consul.watch on health.service sees a new instance once it registers', async (t) => {
  const hub = await startConsulHub(t);
  const consul = hub.consul(hub.admin);
  const seen: string[][] = [];
  const watch = consul.watch({ method: consul.health.service, options: { service: 'web', passing: true, wait: '60s' } as never });
  t.teardown(() => watch.end());
  watch.on('change', (data: Array<{ Service: { ID: string } }>) => seen.push(data.map((e) => e.Service.ID)));
  watch.on('error', (err: Error) => t.log(`watch error: ${err.message}`));
  await eventually('the first answer', () => (seen.length === 1 ? true : undefined));
  t.deepEqual(seen[0], []);
  // The watch's next call is blocked on the index just answered (60s): the registration wakes it.
  await eventually('the watch to block', () => (hub.hub.consulBlockingQueries === 1 ? true : undefined));
  await consul.agent.service.register({ name: 'web', id: 'web-1', address: '10.0.0.1', port: 8080 });
  await eventually('the watch to see web-1', () => (seen.length === 2 ? true : undefined));
  t.deepEqual(seen[1], ['web-1']);
  await consul.agent.service.register({ name: 'web', id: 'web-2', address: '10.0.0.2', port: 8080 });
  await eventually('the watch to see web-2', () => (seen.length === 3 ? true : undefined));
  t.deepEqual(seen[2], ['web-1', 'web-2']);
  // A change to another service does not wake it.
  await consul.agent.service.register({ name: 'api', id: 'api-1', address: '10.0.0.3', port: 8080 });
  await consul.agent.service.deregister('web-1');
  await eventually('the watch to see web-1 go', () => (seen.length === 4 ? true : undefined));
  t.deepEqual(seen[3], ['web-2']);
});

test('a blocking read returns at its wait (plus at most wait/16) with the same index; an index ahead answers at once', async (t) => {
  const clock = new ManualClock();
  const hub = await startConsulHub(t, {}, { clock });
  await hub.curl('PUT', '/v1/agent/service/register', { token: hub.admin, body: { Name: 'web', ID: 'web-1', Address: '10.0.0.1', Port: 80 } });
  const first = await hub.curl('GET', '/v1/health/service/web', { token: hub.admin });
  const index = first.headers['x-consul-index']!;
  const blocked = hub.curl('GET', `/v1/health/service/web?index=${index}&wait=10s`, { token: hub.admin });
  await eventually('the read to block', () => (hub.hub.consulBlockingQueries === 1 ? true : undefined));
  // Time moves only here, until the hub lets the read go: not before 10s of it, nor after 10s + 10s/16.
  // (Measured at the hub's release, not at curl's return, which takes real time on a busy machine.)
  let moved = 0;
  while (hub.hub.consulBlockingQueries === 1 && moved < 20_000) {
    await new Promise((r) => setTimeout(r, 5));
    if (hub.hub.consulBlockingQueries === 1) {
      clock.advance(100);
      moved += 100;
    }
  }
  const r = await blocked;
  t.is(r.status, 200);
  t.is(r.headers['x-consul-index'], index);
  t.is(r.body, first.body);
  t.true(moved >= 10_000 && moved <= 10_000 + 625 + 100, `returned after ${moved}ms of the clock`);
  // An index ahead of the hub's (a hub that restarted): answered at once with the lower index, so the client resets.
  const ahead = await hub.curl('GET', `/v1/health/service/web?index=${Number(index) + 1000}&wait=10s`, { token: hub.admin });
  t.is(ahead.headers['x-consul-index'], index);
  // An index is never 0, even for a service that never existed.
  t.is((await hub.curl('GET', '/v1/health/service/none', { token: hub.admin })).headers['x-consul-index'], '1');
});

test('blocking reads are bounded per identity: one over the limit is answered 429 and nothing is held', async (t) => {
  const hub = await startConsulHub(t, { consul: { max_blocking_queries_per_identity: 1 } });
  const index = (await hub.curl('GET', '/v1/health/service/web', { token: hub.admin })).headers['x-consul-index']!;
  const controller = new AbortController();
  const held = fetch(`${hub.addresses.http}/v1/health/service/web?index=${index}&wait=60s`, { headers: { 'x-consul-token': hub.admin }, signal: controller.signal }).catch(() => undefined);
  await eventually('the first read to block', () => (hub.hub.consulBlockingQueries === 1 ? true : undefined));
  const refused = await hub.curl('GET', `/v1/health/service/web?index=${index}&wait=60s`, { token: hub.admin });
  t.is(refused.status, 429);
  t.regex(refused.body, /too many blocking queries/);
  // Another identity has its own allowance.
  const viewer = await hub.token('viewer', ['*']);
  const other = hub.curl('GET', `/v1/health/service/web?index=${index}&wait=60s`, { token: viewer });
  await eventually('the read of the viewer to block', () => (hub.hub.consulBlockingQueries === 2 ? true : undefined));
  // A client that goes away frees its slot.
  controller.abort();
  await held;
  await eventually('the aborted read to be let go', () => (hub.hub.consulBlockingQueries === 1 ? true : undefined));
  const next = hub.curl('GET', `/v1/health/service/web?index=${index}&wait=60s`, { token: hub.admin });
  await eventually('the next read to block', () => (hub.hub.consulBlockingQueries === 2 ? true : undefined));
  // A change answers both at once, with the new index.
  await hub.curl('PUT', '/v1/agent/service/register', { token: hub.admin, body: { Name: 'web', ID: 'web-1', Address: '10.0.0.1', Port: 80 } });
  for (const r of [await next, await other]) {
    t.is(r.status, 200);
    t.true(Number(r.headers['x-consul-index']) > Number(index));
  }
});

test('a TTL check not renewed goes critical, and DeregisterCriticalServiceAfter later the lease removes the instance', async (t) => {
  const clock = new ManualClock();
  const hub = await startConsulHub(t, {}, { clock });
  const r = await hub.curl('PUT', '/v1/agent/service/register', {
    token: hub.admin,
    body: { Name: 'web', ID: 'web-1', Address: '10.0.0.1', Port: 80, Check: { CheckID: 'web-ttl', TTL: '10s', DeregisterCriticalServiceAfter: '1m', Status: 'passing' } },
  });
  t.is(r.status, 200);
  const lease = hub.hub.registry.getInstance('web-1')!.lease;
  t.is(lease.ttlMs, 10_000);
  t.is(lease.deregisterCriticalAfterMs, 60_000);
  const passing = async () => JSON.parse((await hub.curl('GET', '/v1/health/service/web?passing', { token: hub.admin })).body) as unknown[];
  t.is((await passing()).length, 1);
  // A pass renews the lease.
  clock.advance(8000);
  t.is((await hub.curl('PUT', '/v1/agent/check/pass/web-ttl', { token: hub.admin })).status, 200);
  clock.advance(8000);
  t.is((await passing()).length, 1);
  clock.advance(3000);
  const all = JSON.parse((await hub.curl('GET', '/v1/health/service/web', { token: hub.admin })).body) as Array<{ Checks: Array<{ Status: string; Output: string }> }>;
  t.like(all[0]!.Checks[0], { Status: 'critical', Output: 'TTL expired' });
  t.is((await passing()).length, 0);
  clock.advance(61_000);
  t.is(hub.hub.registry.getInstance('web-1'), undefined);
  t.deepEqual(JSON.parse((await hub.curl('GET', '/v1/health/service/web', { token: hub.admin })).body), []);
});
