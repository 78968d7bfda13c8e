import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parseHealthCheck, type ProbingCheckConfig } from '../../src/health/check-config.js';
import { createProbe } from '../../src/health/probe-factory.js';
import { nextEvent, until } from '../helpers/wait.js';
import { manualManager, processAlive, step } from './helpers.js';

const NODE = process.execPath;

function run(command: string[], extra: Record<string, unknown> = {}) {
  const probe = createProbe(parseHealthCheck({ type: 'exec', command, ...extra }) as ProbingCheckConfig);
  return probe.probe(new AbortController().signal);
}

test('exit 0 passes, with what the command printed', async (t) => {
  const r = await run([NODE, '-e', 'console.log("all good"); console.error("to stderr")']);
  t.is(r.status, 'pass');
  t.regex(r.output, /exit code 0/);
  t.regex(r.output, /all good/);
  t.regex(r.output, /to stderr/);
});

test('exit 1 warns', async (t) => {
  const r = await run([NODE, '-e', 'console.log("disk 91% full"); process.exit(1)']);
  t.is(r.status, 'warn');
  t.regex(r.output, /exit code 1/);
  t.regex(r.output, /disk 91% full/);
});

test('exit 2 (or anything else) fails', async (t) => {
  t.is((await run([NODE, '-e', 'process.exit(2)'])).status, 'fail');
  t.is((await run([NODE, '-e', 'process.exit(137)'])).status, 'fail');
  const killed = await run([NODE, '-e', 'console.log("going down"); process.kill(process.pid, "SIGTERM")']);
  t.is(killed.status, 'fail');
  t.regex(killed.output, /killed by SIGTERM/);
});

test('arguments are passed as they are, without a shell', async (t) => {
  const r = await run([NODE, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', '$HOME', 'a b', '; exit 0']);
  t.is(r.status, 'pass');
  t.true(r.output.includes('["$HOME","a b","; exit 0"]'), r.output);
});

test('shell: true runs the command through /bin/sh', async (t) => {
  const r = await run(['echo from-sh; exit 1'], { shell: true });
  t.is(r.status, 'warn');
  t.regex(r.output, /from-sh/);
});

test('a program that cannot be started fails', async (t) => {
  const r = await run(['/nonexistent/outrigger-check']);
  t.is(r.status, 'fail');
  t.regex(r.output, /could not start.*ENOENT/);
});

test('a command that outlives the timeout fails and its whole process group is killed', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-exec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = path.join(dir, 'pids');
  // The check starts a grandchild (same process group), reports both pids, then hangs.
  const script = `
    const { spawn } = require('node:child_process');
    const fs = require('node:fs');
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    fs.writeFileSync(process.argv[1] + '.tmp', process.pid + ' ' + child.pid);
    fs.renameSync(process.argv[1] + '.tmp', process.argv[1]);
    setInterval(() => {}, 1000);
  `;
  const { manager, clock } = manualManager({ type: 'exec', command: [NODE, '-e', script, pidFile], timeout: '5s', interval: '30s', fall: 1 });
  t.teardown(() => manager.stop());
  manager.start();
  clock.advance(0);
  await until('the check to start its grandchild', () => existsSync(pidFile));
  const [parentPid, grandchildPid] = readFileSync(pidFile, 'utf8').split(' ').map(Number) as [number, number];
  t.true(processAlive(parentPid) && processAlive(grandchildPid));

  const result = nextEvent<[{ status: string; output: string; timedOut: boolean }]>(manager, 'result');
  clock.advance(5000);
  const [r] = await result;
  t.is(r.status, 'fail');
  t.true(r.timedOut);
  t.regex(r.output, /timed out after 5000ms; process killed/);
  t.is(manager.health, 'UNHEALTHY');
  await until('both processes to die', () => !processAlive(parentPid) && !processAlive(grandchildPid));
  t.false(processAlive(parentPid) || processAlive(grandchildPid), 'the check and its grandchild were killed');
});

test('exec through the manager: a warning still routes, and the warning is visible', async (t) => {
  const { manager, clock } = manualManager({ type: 'exec', command: [NODE, '-e', 'console.log("slow disk"); process.exit(1)'], interval: '10s', rise: 1 });
  t.teardown(() => manager.stop());
  manager.start();
  const r = await step(manager, clock, 0);
  t.is(r.status, 'warn');
  t.is(manager.health, 'HEALTHY');
  t.true(manager.routable);
  t.is(manager.lastResult?.status, 'warn');
  t.regex(manager.lastResult?.output ?? '', /slow disk/);
  t.like(manager.stats, { warns: 1, passes: 0, fails: 0 });
});
