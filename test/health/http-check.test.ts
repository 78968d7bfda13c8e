import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parseHealthCheck, type ProbingCheckConfig } from '../../src/health/check-config.js';
import { createProbe } from '../../src/health/probe-factory.js';
import { nextEvent } from '../helpers/wait.js';
import { closeServer, listen, manualManager, step } from './helpers.js';

async function probeOnce(raw: Record<string, unknown>, port: number) {
  const probe = createProbe(parseHealthCheck(raw) as ProbingCheckConfig, { port });
  try {
    return await probe.probe(new AbortController().signal);
  } finally {
    probe.close();
  }
}

/** An app whose /healthz answers 200 or 503 as the test flips it. */
async function flippingApp(): Promise<{ server: http.Server; port: number; set(healthy: boolean): void }> {
  let healthy = true;
  const server = http.createServer((_req, res) => {
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(healthy ? 'ok' : 'database down');
  });
  const port = await listen(server);
  return { server, port, set: (h) => (healthy = h) };
}

test('rise and fall thresholds as the app flips between 200 and 503', async (t) => {
  const app = await flippingApp();
  const { manager, clock, transitions } = manualManager({ type: 'http', path: '/healthz', port: app.port, interval: '1s', timeout: '5s', rise: 2, fall: 3 });
  t.teardown(() => closeServer(app.server));
  t.teardown(() => manager.stop());

  t.is(manager.health, 'UNKNOWN');
  t.false(manager.routable);
  manager.start();

  // A new instance is routable on its first pass.
  let r = await step(manager, clock, 0);
  t.is(r.status, 'pass');
  t.regex(r.output, /200 OK/);
  t.is(manager.health, 'HEALTHY');
  t.true(manager.routable);
  t.deepEqual(transitions.map((x) => [x.previous, x.health]), [['UNKNOWN', 'HEALTHY']]);

  app.set(false);
  for (let i = 1; i <= 2; i++) {
    r = await step(manager, clock, 1000);
    t.is(r.status, 'fail');
    t.is(manager.health, 'HEALTHY', `still healthy after ${i} fail(s)`);
  }
  r = await step(manager, clock, 1000);
  t.regex(r.output, /503 Service Unavailable Output: database down/);
  t.is(manager.health, 'UNHEALTHY');
  t.false(manager.routable);
  t.like(transitions[1], { previous: 'HEALTHY', health: 'UNHEALTHY', status: 'fail' });

  app.set(true);
  r = await step(manager, clock, 1000);
  t.is(manager.health, 'UNHEALTHY', 'one pass does not bring it back');
  r = await step(manager, clock, 1000);
  t.is(manager.health, 'HEALTHY');
  t.is(transitions.length, 3);
  t.like(manager.stats, { probes: 6, passes: 3, fails: 3, transitions: 3, consecutivePasses: 2, consecutiveFails: 0 });
});

test('a fail between passes resets the rise count', async (t) => {
  const app = await flippingApp();
  const { manager, clock } = manualManager({ type: 'http', port: app.port, interval: '1s', rise: 2, fall: 1 });
  t.teardown(() => closeServer(app.server));
  t.teardown(() => manager.stop());
  manager.start();
  await step(manager, clock, 0);
  t.is(manager.health, 'HEALTHY');
  app.set(false);
  await step(manager, clock, 1000);
  t.is(manager.health, 'UNHEALTHY');
  app.set(true);
  await step(manager, clock, 1000);
  app.set(false);
  await step(manager, clock, 1000);
  app.set(true);
  await step(manager, clock, 1000);
  t.is(manager.health, 'UNHEALTHY', 'the fail reset the count: one pass is not enough');
  await step(manager, clock, 1000);
  t.is(manager.health, 'HEALTHY');
});

test('expected status codes and ranges', async (t) => {
  let status = 200;
  const server = http.createServer((_req, res) => {
    res.writeHead(status);
    res.end();
  });
  const port = await listen(server);
  t.teardown(() => closeServer(server));

  const cases: Array<[number, unknown[] | undefined, 'pass' | 'fail']> = [
    [200, undefined, 'pass'],
    [302, undefined, 'pass'],
    [404, undefined, 'fail'],
    [500, undefined, 'fail'],
    [204, [204], 'pass'],
    [200, [204], 'fail'],
    [302, ['200-299'], 'fail'],
    [418, ['4xx'], 'pass'],
    [503, ['200-299', 503], 'pass'],
  ];
  for (const [code, expected, verdict] of cases) {
    status = code;
    const r = await probeOnce({ type: 'http', ...(expected ? { expected_statuses: expected } : {}) }, port);
    t.is(r.status, verdict, `${code} with ${JSON.stringify(expected ?? 'default')}: ${r.output}`);
  }
  status = 302;
  const r = await probeOnce({ type: 'http', expected_statuses: ['200-299'] }, port);
  t.regex(r.output, /expected 200-299/);
});

test('method, path, Host header and custom headers are sent', async (t) => {
  const server = http.createServer();
  const port = await listen(server);
  t.teardown(() => closeServer(server));
  const seen = nextEvent<[http.IncomingMessage]>(server, 'request');
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => res.end());

  const r = await probeOnce(
    { type: 'http', method: 'post', path: '/status?deep=1', host: 'api.internal:8080', headers: { 'X-Probe': 'outrigger', Authorization: 'Bearer t0k' } },
    port,
  );
  t.is(r.status, 'pass');
  const [req] = await seen;
  t.is(req.method, 'POST');
  t.is(req.url, '/status?deep=1');
  t.is(req.headers.host, 'api.internal:8080');
  t.is(req.headers['x-probe'], 'outrigger');
  t.is(req.headers.authorization, 'Bearer t0k');
  t.is(req.headers['user-agent'], 'Outrigger-Health-Check');
});

test('Host header defaults to the address and port probed', async (t) => {
  const server = http.createServer((_req, res) => res.end());
  const port = await listen(server);
  t.teardown(() => closeServer(server));
  const seen = nextEvent<[http.IncomingMessage]>(server, 'request');
  await probeOnce({ type: 'http' }, port);
  t.is((await seen)[0].headers.host, `127.0.0.1:${port}`);
});

test('a timeout counts as a fail', async (t) => {
  const held: http.ServerResponse[] = [];
  // The app accepts the request and never answers it.
  const server = http.createServer((_req, res) => void held.push(res));
  const port = await listen(server);
  t.teardown(() => {
    for (const res of held) res.destroy();
    return closeServer(server);
  });
  const { manager, clock } = manualManager({ type: 'http', port, interval: '10s', timeout: '2s', fall: 1 });
  t.teardown(() => manager.stop());

  const arrived = nextEvent(server, 'request');
  manager.start();
  clock.advance(0);
  await arrived;
  const result = nextEvent<[{ status: string; output: string; timedOut: boolean; durationMs: number }]>(manager, 'result');
  clock.advance(2000);
  const [r] = await result;
  t.is(r.status, 'fail');
  t.true(r.timedOut);
  t.regex(r.output, /timed out after 2000ms/);
  t.is(r.durationMs, 2000);
  t.is(manager.health, 'UNHEALTHY');
  t.like(manager.stats, { timeouts: 1, fails: 1 });
});

test('a refused connection fails', async (t) => {
  const server = http.createServer();
  const port = await listen(server);
  await closeServer(server);
  const r = await probeOnce({ type: 'http' }, port);
  t.is(r.status, 'fail');
  t.regex(r.output, /ECONNREFUSED/);
});

test('one probe in flight: a response slower than the interval is never overlapped', async (t) => {
  let concurrent = 0;
  let maxConcurrent = 0;
  let requests = 0;
  const held: http.ServerResponse[] = [];
  const server = http.createServer((_req, res) => {
    requests++;
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    res.on('close', () => concurrent--);
    held.push(res);
  });
  const port = await listen(server);
  t.teardown(() => closeServer(server));
  const { manager, clock } = manualManager({ type: 'http', port, interval: '1s', timeout: '1m' });
  t.teardown(() => manager.stop());

  const first = nextEvent(server, 'request');
  manager.start();
  clock.advance(0);
  await first;
  // Ten intervals pass while the app sits on the request: still just the one.
  for (let i = 0; i < 10; i++) clock.advance(1000);
  t.is(requests, 1);

  const result = nextEvent(manager, 'result');
  held.shift()?.end('slow but fine');
  await result;
  const second = nextEvent(server, 'request');
  clock.advance(1000);
  await second;
  held.shift()?.end();
  t.is(requests, 2);
  t.is(maxConcurrent, 1);
});

test('https with tls_skip_verify accepts a self-signed certificate; without it the probe fails', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=app.local',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  let sni: string | undefined;
  const server = https.createServer(
    { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) },
    (req, res) => {
      sni = (req.socket as import('node:tls').TLSSocket).servername || undefined;
      res.end('ok');
    },
  );
  const port = await listen(server);
  t.teardown(() => closeServer(server));

  const ok = await probeOnce({ type: 'http', scheme: 'https', tls_skip_verify: true, host: 'app.local' }, port);
  t.is(ok.status, 'pass', ok.output);
  t.is(sni, 'app.local', 'the TLS server name follows the Host header');
  const strict = await probeOnce({ type: 'http', scheme: 'https', host: 'app.local' }, port);
  t.is(strict.status, 'fail');
  t.regex(strict.output, /self.signed|certificate/i);
});
