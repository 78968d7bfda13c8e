import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { PACKAGE_ROOT } from '../../src/common/paths.js';

/**
 * `npm start`'s prestart step, run in a small project of its own: the real dist/ is left alone
 * (other tests run from it), and the project's "build" script only counts its runs and marks
 * the build, as the real one does after tsc.
 */
function project(build: string): { dir: string; builds(): number } {
  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-prestart-'));
  mkdirSync(path.join(dir, 'src', 'cli'), { recursive: true });
  copyFileSync(path.join(PACKAGE_ROOT, 'src', 'cli', 'build-when-stale.mjs'), path.join(dir, 'src', 'cli', 'build-when-stale.mjs'));
  writeFileSync(path.join(dir, 'src', 'cli', 'main.ts'), 'export {};\n');
  writeFileSync(path.join(dir, 'src', 'extra.ts'), 'export {};\n');
  writeFileSync(path.join(dir, 'tsconfig.json'), '{}\n');
  writeFileSync(path.join(dir, 'package-lock.json'), '{}\n');
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'p', private: true, scripts: { build } }));
  return { dir, builds: () => readFileSync(path.join(dir, 'builds.log'), { encoding: 'utf8', flag: 'a+' }).length };
}

/** What the build script does: counts a run, writes dist's entry point, marks the build. */
const GOOD_BUILD =
  "node -e \"const fs=require('fs');fs.appendFileSync('builds.log','x');fs.mkdirSync('dist/src/cli',{recursive:true});fs.writeFileSync('dist/src/cli/main.js','')\" && node src/cli/build-when-stale.mjs --mark-built";

function prestart(dir: string): Promise<{ code: number | null; stderr: string }> {
  const env = { ...process.env };
  delete env.npm_execpath; // as when run by hand; under npm it is npm's own path
  const child = spawn(process.execPath, ['src/cli/build-when-stale.mjs'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

/** An edit a minute after the build: the stamp is dated back, the file's time is now. */
function touchAfterBuild(dir: string, file: string): void {
  const stamp = path.join(dir, 'dist', '.build-stamp');
  const minuteAgo = new Date(statSync(stamp).mtimeMs - 60_000);
  utimesSync(stamp, minuteAgo, minuteAgo);
  const now = new Date();
  utimesSync(path.join(dir, file), now, now);
}

test('prestart builds when there is no build, then only when a source changed, and says why', async (t) => {
  const p = project(GOOD_BUILD);
  const first = await prestart(p.dir);
  t.is(first.code, 0, first.stderr);
  t.regex(first.stderr, /^outrigger: no build in dist\/ yet; building \(npm run build/m);
  t.regex(first.stderr, /^outrigger: built in \d+\.\d s$/m);
  t.is(p.builds(), 1);
  t.is(statSync(path.join(p.dir, 'dist', 'src', 'cli', 'main.js')).mode & 0o111, 0o111, 'the outrigger bin is executable after every build');

  const again = await prestart(p.dir);
  t.is(again.code, 0);
  t.is(again.stderr, '', 'nothing changed: no build, no output');
  t.is(p.builds(), 1);

  touchAfterBuild(p.dir, 'src/cli/main.ts');
  const edited = await prestart(p.dir);
  t.regex(edited.stderr, /^outrigger: src\/cli\/main\.ts changed since the last build; building/m);
  t.is(p.builds(), 2);

  rmSync(path.join(p.dir, 'src', 'extra.ts'));
  touchAfterBuild(p.dir, 'src');
  const removed = await prestart(p.dir);
  t.regex(removed.stderr, /^outrigger: src changed since the last build; building/m, 'a removed file changes its folder');
  t.is(p.builds(), 3);

  touchAfterBuild(p.dir, 'package-lock.json');
  t.regex((await prestart(p.dir)).stderr, /package-lock\.json changed since the last build/);
  t.is(p.builds(), 4);
  t.is((await prestart(p.dir)).stderr, '');
  t.is(p.builds(), 4);
});

test('a failed build is not marked: prestart fails, and tries again next time', async (t) => {
  const p = project("node -e \"require('fs').appendFileSync('builds.log','x');process.exit(3)\"");
  const failed = await prestart(p.dir);
  t.is(failed.code, 3);
  t.regex(failed.stderr, /^outrigger: the build failed \(above\); fix it and run npm start again$/m);
  const retried = await prestart(p.dir);
  t.is(retried.code, 3);
  t.is(p.builds(), 2);
});
