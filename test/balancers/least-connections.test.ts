import test from 'ava';
import { createPolicyRegistry } from '../../src/balancers/builtin-policies.js';
import { EndpointStats } from '../../src/balancers/endpoint-stats.js';
import { LeastConnectionsPicker } from '../../src/balancers/least-connections.js';
import { PolicyBalancer } from '../../src/balancers/load-balancer.js';
import { countPicks, endpoints, seededRandom } from './fixtures.js';

const registry = createPolicyRegistry();

test('least_connections never picks an endpoint above the minimum, and breaks ties round robin', (t) => {
  const balancer = new PolicyBalancer(registry.create('least_connections', {}), { random: seededRandom(1) });
  const eps = endpoints(3);
  balancer.updateEndpoints(eps);
  for (let i = 0; i < 20; i++) balancer.onCallStarted(eps[1]!);
  const seq = Array.from({ length: 10 }, () => balancer.picker.pick()!.id);
  t.false(seq.includes('ep-1'));
  for (let k = 1; k < seq.length; k++) t.not(seq[k], seq[k - 1], `ties alternate: ${seq.join(',')}`);
});

test('least_connections follows the load as calls start and end', (t) => {
  const balancer = new PolicyBalancer(registry.create('least_connections', {}), { random: seededRandom(2) });
  const eps = endpoints(4);
  balancer.updateEndpoints(eps);
  for (let i = 0; i < 100; i++) balancer.onCallStarted(balancer.picker.pick()!);
  t.deepEqual(
    eps.map((e) => balancer.stats.get(e.id).activeRequests),
    [25, 25, 25, 25],
  );
  for (let i = 0; i < 10; i++) balancer.onCallEnded(eps[2]!, 200, 1);
  const next = Array.from({ length: 10 }, () => {
    const ep = balancer.picker.pick()!;
    balancer.onCallStarted(ep);
    return ep.id;
  });
  t.deepEqual(next, Array(10).fill('ep-2'), 'the endpoint that finished its calls takes the next ten');
});

test('least_connections picks exactly the first minimum at or after its cursor (against a scan)', (t) => {
  const random = seededRandom(77);
  let compared = 0;
  for (const n of [1, 2, 5, 7, 64, 100, 129]) {
    const eps = endpoints(n);
    const stats = eps.map((e) => new EndpointStats(e.id));
    const picker = new LeastConnectionsPicker(eps, stats, 0);
    let cursor = 0;
    for (let step = 0; step < 2000; step++) {
      const r = random();
      const s = stats[Math.floor(random() * n)]!;
      if (r < 0.45) s.requestStarted();
      else if (r < 0.8) s.requestEnded();
      else {
        const min = Math.min(...stats.map((x) => x.activeRequests));
        let want = -1;
        for (let k = 0; k < n; k++) {
          const i = (cursor + k) % n;
          if (stats[i]!.activeRequests === min) {
            want = i;
            break;
          }
        }
        const got = eps.indexOf(picker.pick()!);
        if (got !== want) {
          t.is(got, want, `n=${n} step ${step}: picked ${got}, scan says ${want}`);
          return;
        }
        cursor = (want + 1) % n;
        compared++;
      }
    }
  }
  t.true(compared > 1000, `every one of ${compared} picks matched the scan`);
});

test('least_connections sees load that was in flight before its picker was built', (t) => {
  const balancer = new PolicyBalancer(registry.create('least_connections', {}), { random: seededRandom(3) });
  const eps = endpoints(2);
  balancer.updateEndpoints(eps);
  for (let i = 0; i < 5; i++) balancer.onCallStarted(eps[0]!);
  balancer.updateEndpoints(endpoints(3));
  const counts = countPicks(balancer.picker, 6);
  t.is(counts.get('ep-0'), undefined);
  t.is(counts.get('ep-1'), 3);
  t.is(counts.get('ep-2'), 3);
});
