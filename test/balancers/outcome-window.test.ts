import test from 'ava';
import { OutcomeWindow } from '../../src/balancers/outcome-window.js';

test('counts successes over the last minute, forgetting ten-second slots as they age out', (t) => {
  const w = new OutcomeWindow();
  t.deepEqual(w.read(0), { requests: 0, successRate: null });
  for (let i = 0; i < 3; i++) w.record(true, 1_000);
  w.record(false, 15_000);
  t.deepEqual(w.read(15_000), { requests: 4, successRate: 0.75 });
  // 59 s later the first slot (0-10 s) is out of the minute; the 10-20 s slot is still in.
  t.deepEqual(w.read(61_000), { requests: 1, successRate: 0 });
  // A slot reused a minute later starts from zero.
  w.record(true, 70_500);
  t.deepEqual(w.read(70_500), { requests: 1, successRate: 1 });
  t.deepEqual(w.read(200_000), { requests: 0, successRate: null });
});
