/**
 * A benchmark backend: answers every HTTP request with a fixed small body and `x-backend: <id>`.
 *   node dist/bench/lib/http-backend.js <id> [port]
 */
import http from 'node:http';

const id = process.argv[2] ?? 'backend';
const body = Buffer.from('hello from a benchmark backend\n');
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, 'x-backend': id });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`listening on ${typeof a === 'object' && a !== null ? a.port : 0}\n`);
});
