/**
 * The floor for the hub benchmark's REST discover figure: a bare node:http server that answers
 * every request with the hub's own answer (the same status, headers and body bytes, captured
 * once), with nothing else per request. The hub's req/s read as a ratio to this one are what its
 * own request path costs above what Node's HTTP server does on this machine.
 *   node http-floor.js <answer.json>   (answer.json: {status, headers, body: base64})
 * Prints `listening on <port>`.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';

export interface CapturedAnswer {
  status: number;
  headers: Record<string, string>;
  /** base64 */
  body: string;
}

const answer = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as CapturedAnswer;
const body = Buffer.from(answer.body, 'base64');
// Node adds date and the keep-alive headers itself, as it does for the hub.
const skip = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);
const headers: Array<[string, string]> = Object.entries(answer.headers).filter(([k]) => !skip.has(k.toLowerCase()));
headers.push(['content-length', String(body.length)]);
const flat = headers.flat();

const server = http.createServer((_req, res) => {
  res.writeHead(answer.status, flat);
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`listening on ${typeof a === 'object' && a !== null ? a.port : 0}\n`);
});
