#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { OutriggerError } from '../common/errors.js';
import { PACKAGE_ROOT } from '../common/paths.js';
import type { CommandEntry } from './command.js';

const COMMANDS: readonly CommandEntry[] = [
  { name: 'hub', summary: 'Run the registry hub (REST, gRPC registration API, Watch, xDS)', load: async () => (await import('./hub-command.js')).hubCommand },
  { name: 'sidecar', summary: 'Run the sidecar beside an app (`sidecar wait-ready` waits until it can route)', load: async () => (await import('./sidecar-command.js')).sidecarCommand },
  { name: 'status', summary: 'Tell whether the mesh is well: hubs, auth, registry by health, subscribers, warnings', load: async () => (await import('./status-command.js')).statusCommand },
  { name: 'endpoints', summary: "Show a service's endpoints as the hub and a sidecar see them", load: async () => (await import('./endpoints-command.js')).endpointsCommand },
  { name: 'inject', summary: 'Add the sidecar to the workloads of a YAML manifest (offline, as the injector would)', load: async () => (await import('./inject-command.js')).injectCommand },
  { name: 'injector', summary: 'Run the Kubernetes sidecar injector (mutating admission webhook)', load: async () => (await import('./injector-command.js')).injectorCommand },
  { name: 'certs', summary: 'Make a local CA and certificates for trying TLS and mTLS (hub, sidecars, curl)', load: async () => (await import('./certs-command.js')).certsCommand },
  { name: 'demo', summary: 'Run a hub and sample apps with their sidecars on loopback (what `npm start` runs)', load: async () => (await import('./demo-command.js')).demoCommand },
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: outrigger <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `outrigger <command> --help` for the options of a command.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
    process.stdout.write(`outrigger ${pkg.version}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`outrigger: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  try {
    return await (await command.load()).run(rest, process.env);
  } catch (err) {
    if (err instanceof OutriggerError) {
      process.stderr.write(`outrigger ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`outrigger: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
