// @ts-check
/**
 * `npm start` runs this first: it builds (`npm run build`) only when the compiled code in dist/
 * is older than the sources, and says so, instead of rebuilding on every start. Plain
 * JavaScript, as it runs before anything is compiled.
 *
 *   node src/cli/build-when-stale.mjs               build if stale (what prestart runs)
 *   node src/cli/build-when-stale.mjs --mark-built  record a successful build and make the
 *                                                   `outrigger` bin executable (what build runs)
 *
 * The stamp is written only after tsc succeeded, so a failed build is tried again next time.
 * Stale means: no stamp, or a source file, folder (a file added, removed or renamed),
 * tsconfig.json or package-lock.json changed after the stamp was written.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// This file is src/cli/build-when-stale.mjs.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const inputs = ['src', 'tsconfig.json', 'package-lock.json'];

/** The newest modification among a file, or a folder and everything in it. */
function newest(p) {
  const st = statSync(p, { throwIfNoEntry: false });
  if (st === undefined) return { at: 0, what: '' };
  let best = { at: st.mtimeMs, what: path.relative(root, p) };
  if (st.isDirectory()) {
    for (const name of readdirSync(p)) {
      const n = newest(path.join(p, name));
      if (n.at > best.at) best = n;
    }
  }
  return best;
}

if (process.argv.includes('--mark-built')) {
  // tsc writes files 0644; the `outrigger` bin must stay executable across rebuilds, or an
  // `npx outrigger` linked before the rebuild fails with "Permission denied".
  chmodSync(path.join(root, 'dist', 'src', 'cli', 'main.js'), 0o755);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  process.exit(0);
}

const built = statSync(stamp, { throwIfNoEntry: false })?.mtimeMs;
let reason;
if (built === undefined || !existsSync(path.join(root, 'dist', 'src', 'cli', 'main.js'))) reason = 'no build in dist/ yet';
else {
  const changed = inputs.map((i) => newest(path.join(root, i))).reduce((a, b) => (b.at > a.at ? b : a));
  if (changed.at > built) reason = `${changed.what} changed since the last build`;
}
if (reason === undefined) process.exit(0);

process.stderr.write(`outrigger: ${reason}; building (npm run build: tsc over src, test and bench, 20 to 30 s on 2 cores)...\n`);
const started = Date.now();
const npm = process.env.npm_execpath;
const result = npm !== undefined && npm.endsWith('.js')
  ? spawnSync(process.execPath, [npm, 'run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
  : spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
if (result.status !== 0) {
  process.stderr.write('outrigger: the build failed (above); fix it and run npm start again\n');
  process.exit(result.status ?? 1);
}
process.stderr.write(`outrigger: built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
