import { formatStatus, statusReport } from '../hub/rest-status-report.js';
import { parseCommandArgs } from './command-args.js';
import type { Command } from './command.js';
import { HUB_CLIENT_OPTIONS, hubTlsFiles, hubToken, optional } from './hub-client-args.js';

const HELP = `Usage: outrigger status [--hub http://127.0.0.1:15080]... [--json] [--token-file <path>]
                        [--ca-file <ca.pem>] [--cert-file <cert.pem> --key-file <key.pem>]

Tells whether the mesh is well: which hubs answer and are ready (give --hub once per replica,
or a comma-separated list), the auth mode, namespaces, services and instances by health, the
xDS subscribers and how many are stale, and warnings: services with no healthy endpoint,
self-preservation, NACKs, stale subscribers, hubs down.
A token that may read the registry: --token-file names a file holding it, or OUTRIGGER_TOKEN
holds it (the subscribers need metrics:read). --token <token> works too, but any user of this
machine can read a command line.
env: OUTRIGGER_HUB_URL for --hub, OUTRIGGER_TOKEN_FILE for --token-file, OUTRIGGER_TOKEN,
OUTRIGGER_CA_FILE, OUTRIGGER_CERT_FILE, OUTRIGGER_KEY_FILE.

--json prints the report as JSON, for scripts.

Exit codes: 0 all is well, 1 warnings, 2 errors (no hub reachable, the token refused, bad arguments).
`;

export const statusCommand: Command = {
  async run(args, env) {
    const parsed = parseCommandArgs(args, {
      hub: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      ...HUB_CLIENT_OPTIONS,
      help: { type: 'boolean', short: 'h' },
    } as const);
    if (parsed.values.help === true) {
      process.stdout.write(HELP);
      return 0;
    }
    if (parsed.positionals.length > 0) {
      process.stderr.write(HELP);
      return 2;
    }
    const given = parsed.values.hub ?? [env.OUTRIGGER_HUB_URL || 'http://127.0.0.1:15080'];
    const hubs = given.flatMap((h) => h.split(',')).map((h) => h.trim().replace(/\/+$/, '')).filter((h) => h !== '');
    const report = await statusReport({ hubs, ...optional('token', hubToken(parsed.values, env)), tls: hubTlsFiles(parsed.values, env) });
    process.stdout.write(parsed.values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
    return report.exit_code;
  },
};
