import test from 'ava';
import { SendQueue } from '../../src/xds/server/send-queue.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('at most perTurn items are served per event-loop turn, each once however often queued', async (t) => {
  const served: number[] = [];
  const q = new SendQueue<{ id: number; flush(): void }>(3);
  const items = Array.from({ length: 10 }, (_, id) => ({ id, flush: () => served.push(id) }));
  for (const i of items) q.enqueue(i);
  for (const i of items) q.enqueue(i);
  t.is(q.size, 10);
  await turn();
  t.deepEqual(served, [0, 1, 2]);
  await turn();
  t.deepEqual(served, [0, 1, 2, 3, 4, 5]);
  await turn();
  await turn();
  t.deepEqual(served, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.is(q.size, 0);
});

test('removed and closed queues serve nothing', async (t) => {
  const served: string[] = [];
  const q = new SendQueue<{ flush(): void }>(10);
  const a = { flush: () => served.push('a') };
  const b = { flush: () => served.push('b') };
  q.enqueue(a);
  q.enqueue(b);
  q.remove(a);
  await turn();
  t.deepEqual(served, ['b']);
  q.enqueue(a);
  q.close();
  await turn();
  t.deepEqual(served, ['b']);
});

test('while the gate is shut nobody is served; resume serves the waiting in order', async (t) => {
  const served: number[] = [];
  const gate = { open: true };
  const q = new SendQueue<{ id: number; flush(): void }>(10, gate);
  const items = Array.from({ length: 4 }, (_, id) => ({
    id,
    flush: () => {
      served.push(id);
      if (id === 1) gate.open = false;
    },
  }));
  for (const i of items) q.enqueue(i);
  await turn();
  t.deepEqual(served, [0, 1], 'the gate shut after the second write');
  await turn();
  t.deepEqual(served, [0, 1]);
  t.is(q.size, 2);
  gate.open = true;
  q.resume();
  await turn();
  t.deepEqual(served, [0, 1, 2, 3]);
});
