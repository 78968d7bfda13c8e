/** Argument parsing shared by the subcommands that take flags and positionals. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OutriggerError } from '../common/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node's parseArgs, strict; an unknown or malformed flag is a `config_invalid` pointing at --help. */
export function parseCommandArgs<const O extends Options>(args: string[], options: O): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true });
  } catch (err) {
    throw new OutriggerError('config_invalid', `${(err as Error).message}; see --help`);
  }
}
