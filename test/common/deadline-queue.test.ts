import test from 'ava';
import { DeadlineQueue } from '../../src/common/deadline-queue.js';
import { ManualClock } from '../../src/common/manual-clock.js';

test('deadlines fire in order, each durationMs after it was added, through one timer', (t) => {
  const clock = new ManualClock();
  const q = new DeadlineQueue(clock, 100);
  const fired: string[] = [];
  q.add(() => fired.push('a'));
  clock.advance(30);
  q.add(() => fired.push('b'));
  clock.advance(60);
  q.add(() => fired.push('c'));
  t.is(clock.pending(), 1, 'one timer serves every queued deadline');
  clock.advance(9);
  t.deepEqual(fired, []);
  clock.advance(1);
  t.deepEqual(fired, ['a'], 'a at 100 ms');
  clock.advance(29);
  t.deepEqual(fired, ['a']);
  clock.advance(1);
  t.deepEqual(fired, ['a', 'b'], 'b at 130 ms');
  clock.advance(60);
  t.deepEqual(fired, ['a', 'b', 'c'], 'c at 190 ms');
  t.is(q.size, 0);
});

test('a cancelled deadline never fires; cancelling the head, the middle or the tail keeps the rest', (t) => {
  const clock = new ManualClock();
  const q = new DeadlineQueue(clock, 50);
  const fired: number[] = [];
  const ds = Array.from({ length: 5 }, (_, i) => {
    clock.advance(1);
    return q.add(() => fired.push(i));
  });
  ds[0]!.cancel();
  ds[2]!.cancel();
  ds[4]!.cancel();
  ds[4]!.cancel();
  t.is(q.size, 2);
  clock.advance(100);
  t.deepEqual(fired, [1, 3]);
  ds[1]!.cancel();
  t.deepEqual(fired, [1, 3], 'cancelling after firing is a no-op');
});

test('a deadline added while the queue is idle or from an expiry callback fires on time', (t) => {
  const clock = new ManualClock();
  const q = new DeadlineQueue(clock, 10);
  const fired: string[] = [];
  q.add(() => {
    fired.push('first');
    q.add(() => fired.push('added on expiry'));
  });
  clock.advance(10);
  t.deepEqual(fired, ['first']);
  clock.advance(10);
  t.deepEqual(fired, ['first', 'added on expiry']);
  clock.advance(1000);
  q.add(() => fired.push('after idle'));
  clock.advance(9);
  t.is(fired.length, 2);
  clock.advance(1);
  t.deepEqual(fired, ['first', 'added on expiry', 'after idle']);
});

test('clear() stops the timer and drops every deadline; a duration of 0 is refused', (t) => {
  const clock = new ManualClock();
  const q = new DeadlineQueue(clock, 10);
  let fired = 0;
  q.add(() => fired++);
  q.add(() => fired++);
  q.clear();
  t.is(clock.pending(), 0);
  clock.advance(100);
  t.is(fired, 0);
  t.throws(() => new DeadlineQueue(clock, 0), { instanceOf: RangeError });
});
