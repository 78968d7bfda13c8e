import test from 'ava';
import { RetryBudget } from '../../src/balancers/retry-budget.js';

test('the budget is budget_percent of active plus pending requests', (t) => {
  const budget = new RetryBudget({ budget_percent: 20, min_retry_concurrency: 3 });
  t.is(budget.limit(100), 20);
  t.is(budget.limit(80, 20), 20);
  t.is(budget.limit(1000), 200);
  t.is(budget.limit(104), 20, 'rounded down');
});

test('min_retry_concurrency is a floor', (t) => {
  const budget = new RetryBudget({ budget_percent: 20, min_retry_concurrency: 3 });
  t.is(budget.limit(0), 3);
  t.is(budget.limit(10), 3);
  t.is(budget.limit(20), 4);
});

test('allows admits retries strictly below the limit', (t) => {
  const budget = new RetryBudget({ budget_percent: 50, min_retry_concurrency: 0 });
  t.true(budget.allows(4, 10));
  t.false(budget.allows(5, 10));
  t.false(budget.allows(0, 0), 'no floor and nothing in flight: no retry');
});

test("defaults are Envoy's: 20% with a floor of 3", (t) => {
  const budget = new RetryBudget();
  t.is(budget.limit(0), 3);
  t.is(budget.limit(50), 10);
});
