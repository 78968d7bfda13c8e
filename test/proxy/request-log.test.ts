import test from 'ava';
import { RequestLog, type RequestRecord } from '../../src/proxy/request-log.js';

const record = (n: number): RequestRecord => ({ at: n, protocol: 'http', method: 'GET', authority: 'a', path: `/${n}`, status: 200, endpoint: 'e', durationMs: 1, retries: 0 });

test('keeps the newest records, newest first, up to its capacity', (t) => {
  const log = new RequestLog(3);
  t.deepEqual(log.recent(), []);
  log.push(record(1));
  log.push(record(2));
  t.deepEqual(log.recent().map((r) => r.at), [2, 1]);
  for (let i = 3; i <= 7; i++) log.push(record(i));
  t.deepEqual(log.recent().map((r) => r.at), [7, 6, 5]);
});
