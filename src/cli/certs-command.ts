import { CERT_KINDS, makeLocalCertificates, type CertKind, type CertsFlags } from '../tls/local-certs.js';
import { parseCommandArgs } from './command-args.js';
import type { Command } from './command.js';

export const CERTS_HELP = `Usage: outrigger certs <ca|hub|workload> [options]

Makes a CA and certificates for trying TLS and mTLS locally (EC P-256 keys; private keys are
written readable only by you, mode 0600). For production, use your own CA, cert-manager or
SPIFFE/SPIRE: the hub and the sidecar only read PEM files.

  outrigger certs ca --out <dir> [--cn <name>] [--days 3650]
      a CA: <dir>/ca.pem and <dir>/ca-key.pem
  outrigger certs hub --ca <dir> --out <dir> [--dns <name>]... [--ip <address>]... [--days 365]
      the hub's serving certificate: <dir>/hub.pem and <dir>/hub-key.pem, for the names
      clients dial (default: localhost, 127.0.0.1 and ::1)
  outrigger certs workload --ca <dir> --out <dir> (--spiffe <id> | --cn <name>) [--days 365]
      a client certificate for a sidecar or any client: <dir>/<name>.pem and <dir>/<name>-key.pem;
      a SPIFFE id spiffe://<trust domain>/ns/<namespace>/sa/<service account> is the service
      role for that service, a CN gets the role auth.bindings gives cn:<name>

Options:
  --out <dir>        where to write (made if missing; default: the current directory)
  --ca <dir>         the directory \`certs ca\` wrote (default: --out)
  --cn <name>        common name (ca: "Outrigger local CA"; hub: the first --dns; workload: --name)
  --name <name>      file name without .pem (hub: hub; workload: the ServiceAccount or the CN)
  --dns <name>       a DNS name the hub is reached by; repeat for more
  --ip <address>     an IP address the hub is reached by; repeat for more
  --spiffe <id>      the workload's SPIFFE id (a URI SAN)
  --days <n>         validity in days
  --force            overwrite existing files (default: refuse)
  -h, --help

Example:
  outrigger certs ca --out certs
  outrigger certs hub --out certs --dns localhost --ip 127.0.0.1
  outrigger certs workload --out certs --spiffe spiffe://cluster.local/ns/shop/sa/web
`;

export const certsCommand: Command = {
  async run(args) {
    const options = {
      out: { type: 'string' },
      ca: { type: 'string' },
      cn: { type: 'string' },
      name: { type: 'string' },
      dns: { type: 'string', multiple: true },
      ip: { type: 'string', multiple: true },
      spiffe: { type: 'string' },
      days: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    } as const;
    const parsed = parseCommandArgs(args, options);
    if (parsed.values.help === true) {
      process.stdout.write(CERTS_HELP);
      return 0;
    }
    const [kind, ...extra] = parsed.positionals;
    if (kind === undefined || extra.length > 0 || !(CERT_KINDS as readonly string[]).includes(kind)) {
      process.stderr.write(`${kind === undefined ? 'outrigger certs: say what to make: ca, hub or workload' : `outrigger certs: unknown "${[kind, ...extra].join(' ')}": say ca, hub or workload`}\n\n${CERTS_HELP}`);
      return 2;
    }
    const v = parsed.values;
    const flags: CertsFlags = {
      ...(v.out !== undefined ? { '--out': v.out } : {}),
      ...(v.ca !== undefined ? { '--ca': v.ca } : {}),
      ...(v.cn !== undefined ? { '--cn': v.cn } : {}),
      ...(v.name !== undefined ? { '--name': v.name } : {}),
      ...(v.dns !== undefined ? { '--dns': v.dns } : {}),
      ...(v.ip !== undefined ? { '--ip': v.ip } : {}),
      ...(v.spiffe !== undefined ? { '--spiffe': v.spiffe } : {}),
      ...(v.days !== undefined ? { '--days': v.days } : {}),
      ...(v.force !== undefined ? { '--force': v.force } : {}),
    };
    process.stdout.write(await makeLocalCertificates(kind as CertKind, flags));
    return 0;
  },
};
