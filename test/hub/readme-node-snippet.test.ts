import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { PACKAGE_ROOT } from '../../src/common/paths.js';
import { startAuthHub } from '../helpers/auth-hub.js';

// The README's "Register with Node" snippet, followed as an app outside this repository would:
// its own folder with a copy of proto/, the snippet as written, run by node.
const readme = readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('Register with Node.'));

test('the README\'s Node snippet registers an instance from a folder holding a copy of proto/', async (t) => {
  const snippet = /```js\n([\s\S]+?)```/.exec(section)?.[1];
  t.truthy(snippet, 'the README has the snippet');
  t.regex(section.slice(0, section.indexOf('```js')), /cp -r path\/to\/outrigger\/proto \.\/outrigger-proto/, 'the README says to copy proto/ first');
  const hub = await startAuthHub();
  t.teardown(() => hub.close());
  const token = await hub.token('service', ['secure-api.local/worker']);

  const app = mkdtempSync(path.join(tmpdir(), 'outrigger-app-'));
  cpSync(path.join(PACKAGE_ROOT, 'proto'), path.join(app, 'outrigger-proto'), { recursive: true });
  // Stands in for `npm install @grpc/grpc-js @grpc/proto-loader`: the same packages, no network.
  symlinkSync(path.join(PACKAGE_ROOT, 'node_modules'), path.join(app, 'node_modules'), 'dir');
  writeFileSync(path.join(app, 'register.mjs'), snippet!.replace("'127.0.0.1:15010'", `'${hub.addresses.grpc}'`));

  const run = async (env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> => {
    const child = spawn(process.execPath, ['register.mjs'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, out, err };
  };
  const refused = await run({ OUTRIGGER_TOKEN: 'ort_not-issued' });
  t.regex(refused.out, /the bearer token is not one the hub knows/, 'without a good token the hub says why');
  t.is(hub.hub.registry.getInstance('worker-1'), undefined);

  const { code, out, err } = await run({ OUTRIGGER_TOKEN: token });
  t.is(code, 0, err);
  t.regex(out, /id: 'worker-1'/);
  t.like(hub.hub.registry.getInstance('worker-1'), { service: 'worker', namespace: 'secure-api.local', address: '10.0.0.7', port: 8080 });
});
