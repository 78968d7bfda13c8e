import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { getJson, PROCESS_POLL_MS, PROCESS_WAIT_MS } from '../helpers/cli-ports.js';
import { runCli } from '../helpers/cli-process.js';
import { eventually } from '../helpers/wait.js';

test('outrigger demo runs a hub and apps with sidecars; web sees echo; endpoints compares both views', async (t) => {
  // TMPDIR is where a sidecar's default peer cache would go: the demo must leave nothing there,
  // or its next run would start from this run's dead endpoints.
  const tmp = mkdtempSync(path.join(tmpdir(), 'outrigger-demo-'));
  const demo = runCli(['demo', '--bind', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--admin-port', '0', '--outbound-port', '0', '--dns.listen', '127.0.0.1:0'], { TMPDIR: tmp });
  t.teardown(() => demo.child.kill('SIGKILL'));
  const [, hub] = await demo.waitForOutput(/hub REST, \/metrics\s+(http:\/\/\S+)/);
  const [, web, proxy] = await demo.waitForOutput(/web-1 app .* sidecar admin (http:\/\/\S+)\s+outbound proxy (http:\/\/\S+)/);
  const [calls] = await demo.waitForOutput(/(  \d\. answered by .*\n){6}/);
  const [, token] = await demo.waitForOutput(/export OUTRIGGER_TOKEN=(\S+)/);
  const [, hubUi] = await demo.waitForOutput(/hub dashboard\s+(http:\/\/\S+)/);
  const [, sidecarUi] = await demo.waitForOutput(/sidecar dashboard\s+(http:\/\/\S+)/);
  t.is(hubUi, `${hub}/ui/`);
  t.is(sidecarUi, `${web}/ui/`);
  for (const ui of [hubUi!, sidecarUi!]) t.regex(await (await fetch(ui)).text(), /<title>Outrigger · (hub|sidecar)<\/title>/, ui);
  t.is((await getJson(`${hub}/api/v1/services`))?.status, 401, 'auth is on: no token, no answer');
  // Balanced over the two echoes in web's zone (zone-a). A picker rebuilt by a late update
  // restarts its rotation, so the exact order is not asserted.
  const answered = [...calls!.matchAll(/answered by (echo-\d)/g)].map((m) => m[1]!);
  t.is(answered.length, 6, calls);
  t.deepEqual([...new Set(answered)].sort(), ['echo-1', 'echo-2'], `only and both echoes in web's zone answer: ${answered.join(' ')}`);
  // fetch() does not let a caller set Host, so Host routing is tried with curl, as a user would.
  const curl = spawnSync('curl', ['-s', '-H', 'Host: echo.demo.local', `${proxy}/hello`], { encoding: 'utf8' });
  t.regex(curl.stdout, /"instance":"echo-[12]"/);
  const forward = spawnSync('curl', ['-s', '-x', proxy!, 'http://echo.demo.local/hello'], { encoding: 'utf8' });
  t.regex(forward.stdout, /"instance":"echo-[12]"/);
  const ready = await eventually('web ready', async () => {
    const r = await getJson<{ ready: boolean }>(`${web}/ready`);
    return r?.status === 200 ? r : undefined;
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  t.true(ready.body.ready);
  const clusters = await eventually('web sees three healthy echoes', async () => {
    const c = (await getJson<{ clusters: Array<{ name: string; endpoints: Array<{ id: string; health: string }> }> }>(`${web}/clusters`))?.body;
    const echo = c?.clusters.find((x) => x.name === 'echo.demo.local');
    return echo?.endpoints.filter((e) => e.health === 'HEALTHY').length === 3 ? echo : undefined;
  }, PROCESS_WAIT_MS, PROCESS_POLL_MS);
  t.deepEqual(clusters.endpoints.map((e) => e.id).sort(), ['echo-1', 'echo-2', 'echo-3']);
  const all = (await getJson<{ data: { services: Array<{ id: string; lease: { held: boolean } }> } }>(`${hub}/api/v1/services`, token))!.body.data.services;
  t.deepEqual(all.map((i) => i.id).sort(), ['echo-1', 'echo-2', 'echo-3', 'web-1']);
  t.true(all.every((i) => i.lease.held), 'every app is registered by its sidecar over a Session');

  const endpoints = runCli(['endpoints', 'echo.demo.local', '--hub', hub!, '--sidecar', web!], { OUTRIGGER_TOKEN: token });
  t.is(await endpoints.exited, 0);
  const out = endpoints.stdout();
  t.regex(out, /echo\.demo\.local: hub registry version \d+, 3 instance\(s\)/);
  t.regex(out, /endpoints version \d+ \(from hub\), 3 endpoint\(s\)/);
  t.is(out.match(/^echo-\d\s+127\.0\.0\.1:\d+\s+HEALTHY\s+100\s+zone-[ab]\s+v1\s+HEALTHY/gm)?.length, 3);
  t.notRegex(out, /STALE/);

  demo.child.kill('SIGINT');
  t.is(await demo.exited, 0);
  t.deepEqual(readdirSync(tmp), [], 'no peer cache written');
});
