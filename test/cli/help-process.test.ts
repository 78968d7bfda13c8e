import test from 'ava';
import { runCli } from '../helpers/cli-process.js';

// Every subcommand answers --help before it reads its config: a user asks for help exactly when
// the config is not right yet (the sidecar's required `service` unset, a bad env value).
const commands: ReadonlyArray<{ args: string[]; usage: RegExp }> = [
  { args: ['sidecar', '--help'], usage: /^Usage: outrigger sidecar /m },
  { args: ['sidecar', 'wait-ready', '--help'], usage: /^Usage: outrigger sidecar /m },
  { args: ['hub', '--help'], usage: /^Usage: outrigger hub /m },
  { args: ['injector', '-h'], usage: /^Usage: outrigger injector /m },
  { args: ['inject', '--help'], usage: /^Usage: outrigger inject /m },
  { args: ['endpoints', '--help'], usage: /^Usage: outrigger endpoints /m },
  { args: ['status', '--help'], usage: /^Usage: outrigger status /m },
  { args: ['demo', '--help'], usage: /^Usage: outrigger demo /m },
  { args: ['certs', '--help'], usage: /^Usage: outrigger certs /m },
];

for (const { args, usage } of commands) {
  test.serial(`outrigger ${args.join(' ')} prints the help and exits 0 even with an invalid config`, async (t) => {
    const cli = runCli(args, { OUTRIGGER_SERVICE: '', OUTRIGGER_LOG_LEVEL: 'loud' });
    t.is(await cli.exited, 0, cli.describe());
    t.regex(cli.stdout(), usage);
    t.is(cli.stderr(), '');
  });
}

test.serial('without --help the same config is still refused, naming the key', async (t) => {
  const cli = runCli(['sidecar'], { OUTRIGGER_SERVICE: '' });
  t.is(await cli.exited, 2);
  t.regex(cli.stderr(), /^outrigger sidecar: service: must be a string, got nothing/);
});

test.serial('--help with an unknown flag still names the flag', async (t) => {
  const cli = runCli(['sidecar', '--servcie', 'web', '--help']);
  t.is(await cli.exited, 2);
  t.regex(cli.stderr(), /Unknown option '--servcie'/);
});
