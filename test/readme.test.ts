import { readFileSync } from 'node:fs';
import path from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import test from 'ava';
import { ERROR_KINDS } from '../src/common/errors.js';
import { PACKAGE_ROOT } from '../src/common/paths.js';
import { hubConfigSchema } from '../src/config/hub-config.js';
import { injectorConfigSchema } from '../src/config/injector-config.js';
import { describeOptions } from '../src/config/layered-config.js';
import { sidecarConfigSchema } from '../src/config/sidecar-config.js';

const readme = readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');

test('the README documents every hub config key with its environment variable', (t) => {
  for (const o of describeOptions(hubConfigSchema)) {
    t.true(readme.includes(`| \`${o.key}\` | \`${o.env}\` |`), `README documents ${o.key}`);
  }
});

test('the README documents every sidecar config key with its environment variable', (t) => {
  for (const o of describeOptions(sidecarConfigSchema)) {
    t.true(readme.includes(`| \`${o.key}\` | \`${o.env}\` |`), `README documents ${o.key}`);
  }
});

test('the README documents every injector config key with its environment variable', (t) => {
  const start = readme.indexOf('### The sidecar injector');
  t.not(start, -1, 'the README has a section for the injector');
  const section = readme.slice(start);
  for (const o of describeOptions(injectorConfigSchema)) {
    t.true(section.includes(`| \`${o.key}\` | \`${o.env}\` |`), `README documents ${o.key}`);
  }
});

test('the README shows the two commands', (t) => {
  t.regex(readme, /npm start/);
  t.regex(readme, /npm test/);
});

test('the README lists every error code with its HTTP status, gRPC status and meaning', (t) => {
  for (const [code, kind] of Object.entries(ERROR_KINDS)) {
    t.true(readme.includes(`| \`${code}\` | ${kind.http} | \`${GrpcStatus[kind.grpc]}\` | ${kind.meaning} |`), `README lists ${code}`);
  }
});
