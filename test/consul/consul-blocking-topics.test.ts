/**
 * The blocking queries' index per topic over a real Registry: a removed service's or namespace's
 * entry is dropped, so services that come and go do not grow the map, and a reader blocked on a
 * removed service is woken with a newer index than the one it held.
 */
import test from 'ava';
import { ManualClock } from '../../src/common/manual-clock.js';
import { BlockingQueries, namespaceTopic, serviceTopic } from '../../src/consul/consul-blocking.js';
import { newRegistry } from '../helpers/registry.js';

test('removed services and namespaces leave no topic behind, and their readers see a newer index', async (t) => {
  const registry = newRegistry();
  const queries = new BlockingQueries(registry, new ManualClock(), { maxQueries: 10, maxPerIdentity: 10 });
  t.teardown(() => queries.close());
  const baseline = queries.topics;
  registry.createNamespace({ name: 'shop.local' });
  for (let i = 0; i < 50; i++) {
    registry.register({ id: `web-${i}`, service: `web${i}`, namespace: 'shop.local', address: '10.0.0.1', port: 80, ttl: 0 });
  }
  t.is(queries.topics, baseline + 1 + 1 + 50, 'the node list, the namespace and one topic per service');
  const topic = serviceTopic('shop.local', 'web0');
  const held = queries.indexOf(topic);
  let woken = false;
  const blocked = queries.wait(topic, held, 60_000, 'reader', () => {}).then(() => (woken = true));
  t.is(queries.waiting, 1);
  for (let i = 0; i < 50; i++) {
    registry.deregister(`web-${i}`);
    registry.deleteService('shop.local', `web${i}`);
  }
  await blocked;
  t.true(woken, 'the reader of the removed service was woken');
  t.true(queries.indexOf(topic) > held, `a newer index than ${held}: ${queries.indexOf(topic)}`);
  t.is(queries.topics, baseline + 1 + 1, 'no service topic is left');
  registry.deleteNamespace('shop.local');
  t.is(queries.topics, baseline + 1, 'nor the namespace topic');
  t.true(queries.indexOf(namespaceTopic('shop.local')) > held);
  // The index never goes back for a topic that comes again.
  registry.register({ id: 'web-0', service: 'web0', namespace: 'shop.local', address: '10.0.0.1', port: 80, ttl: 0 });
  t.true(queries.indexOf(topic) > held);
});
