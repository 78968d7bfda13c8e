#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { OutriggerError } from '../common/errors.js';
import { PACKAGE_ROOT } from '../common/paths.js';
import { demoCommand } from './demo-command.js';
import { endpointsCommand } from './endpoints-command.js';
import { hubCommand } from './hub-command.js';
import { injectCommand } from './inject-command.js';
import { injectorCommand } from './injector-command.js';
import { sidecarCommand } from './sidecar-command.js';
import type { Command } from './command.js';

const COMMANDS: readonly Command[] = [hubCommand, sidecarCommand, endpointsCommand, demoCommand, injectorCommand, injectCommand];

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
    return await command.run(rest, process.env);
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
