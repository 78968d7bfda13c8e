import test from 'ava';
import { quantile } from '../../src/hub/rest-dashboard-stats.js';

test('quantile interpolates inside the bucket that holds the rank, as histogram_quantile does', (t) => {
  t.is(quantile(0.5, []), null);
  t.is(quantile(0.5, [[0.1, 0], [1, 0], [Infinity, 0]]), null);
  // 100 observations: 50 up to 0.1 s, 50 between 0.1 s and 1 s.
  const buckets: Array<[number, number]> = [[0.1, 50], [1, 100], [Infinity, 100]];
  t.is(quantile(0.5, buckets), 0.1);
  t.is(quantile(0.99, buckets), 0.1 + 0.9 * (49 / 50));
  t.is(quantile(0.25, buckets), 0.05);
  // Past the last finite bound the answer is that bound.
  t.is(quantile(0.99, [[0.1, 0], [1, 10], [Infinity, 100]]), 1);
});
