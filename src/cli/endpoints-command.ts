import { OutriggerError } from '../common/errors.js';
import { endpointsReport } from '../sidecar/endpoints-report.js';
import { parseCommandArgs } from './command-args.js';
import { HUB_CLIENT_OPTIONS, hubTlsFiles, hubToken, optional } from './hub-client-args.js';
import type { Command } from './command.js';

const HELP = `Usage: outrigger endpoints <service>.<namespace> [--hub http://127.0.0.1:15080] [--sidecar http://127.0.0.1:15000] [--token-file <path>]
                           [--ca-file <ca.pem>] [--cert-file <cert.pem> --key-file <key.pem>]

Prints the hub's view of a service (every instance, with health, weight, zone and version) and,
with --sidecar, that sidecar's view beside it; rows where the two disagree are marked STALE.
A token that may read the service: --token-file names a file holding it (a bootstrap token, a
projected ServiceAccount token), or OUTRIGGER_TOKEN holds it. --token <token> works too, but any
user of this machine can read a command line.
env: OUTRIGGER_HUB_URL for --hub, OUTRIGGER_TOKEN_FILE for --token-file, OUTRIGGER_TOKEN.

An https hub: --ca-file is the CA its certificate chains to (default: the system's CAs);
--cert-file and --key-file are a client certificate, for a hub that requires one (mTLS).
env: OUTRIGGER_CA_FILE, OUTRIGGER_CERT_FILE, OUTRIGGER_KEY_FILE.

Exit codes: 0 the service exists (even with no instances), 1 the hub has no such service,
2 bad arguments or the hub or sidecar cannot be asked.
`;

export const endpointsCommand: Command = {
  async run(args, env) {
    const options = {
      hub: { type: 'string' },
      sidecar: { type: 'string' },
      ...HUB_CLIENT_OPTIONS,
      help: { type: 'boolean', short: 'h' },
    } as const;
    const parsed = parseCommandArgs(args, options);
    if (parsed.values.help === true) {
      process.stdout.write(HELP);
      return 0;
    }
    const [name, ...extra] = parsed.positionals;
    if (name === undefined || extra.length > 0) {
      process.stderr.write(HELP);
      return 2;
    }
    const hub = parsed.values.hub ?? env.OUTRIGGER_HUB_URL ?? 'http://127.0.0.1:15080';
    let report: string;
    try {
      const token = hubToken(parsed.values, env);
      const tls = hubTlsFiles(parsed.values, env);
      report = await endpointsReport(name, { hub, ...optional('sidecar', parsed.values.sidecar), ...optional('token', token), tls });
    } catch (err) {
      if (!(err instanceof OutriggerError && err.code === 'not_found')) throw err;
      process.stderr.write(`outrigger endpoints: ${err.message}\n`);
      return 1;
    }
    process.stdout.write(report);
    return 0;
  },
};
