import { existsSync } from 'node:fs';
import { createLogger } from '../common/logger.js';
import { hubConfigSchema } from '../config/hub-config.js';
import { formatOptionsHelp, loadConfig, wantsHelp } from '../config/layered-config.js';
import type { HubConfig } from '../config/hub-config.js';
import { Hub } from '../hub/hub.js';
import type { Command } from './command.js';
import { untilSignal } from './signals.js';

export const HUB_HELP = `Usage: outrigger hub [--config hub.yaml] [options]

Runs the registry hub. Settings come from defaults, then the YAML file, then OUTRIGGER_*
environment variables, then flags (a later layer wins).

Options:
  -c, --config <file>
      YAML config file; env OUTRIGGER_CONFIG
  -h, --help
${formatOptionsHelp(hubConfigSchema)}
`;

export const hubCommand: Command = {
  async run(args, env) {
    if (wantsHelp(hubConfigSchema, args)) {
      process.stdout.write(HUB_HELP);
      return 0;
    }
    const { config } = loadConfig(hubConfigSchema, { args, env });
    const logger = createLogger(config.log_level, { service: 'outrigger-hub' });
    const hub = new Hub(config, { logger });
    const at = await hub.start();
    process.stdout.write(`outrigger hub ready\n  REST + metrics  ${at.http}\n  gRPC + xDS      ${at.grpc}\n  DNS             ${at.dnsPort !== undefined ? `${config.dns.listen.replace(/:\d+$/, '') || config.bind}:${at.dnsPort} (UDP and TCP)` : 'off'}\n  TLS             ${hub.tlsSummary}\n${authLines(config, hub, at.http)}`);
    const signal = await untilSignal();
    logger.info('stopping', { signal });
    await hub.stop();
    return 0;
  },
};

/** What a user needs to make the first call: where the admin token is, or that auth is off. */
function authLines(config: HubConfig, hub: Hub, http: string): string {
  if (!config.auth.enabled) return '  auth            OFF (auth.enabled: false): anyone who reaches these ports may read and change everything\n';
  const { tokens, bootstrap } = hub.tokenFiles;
  const first = hub.bootstrapped ? `first start: the bootstrap admin token is in ${bootstrap} (readable only by you)` : `tokens in ${tokens}`;
  // curl must trust the hub's CA, and present a certificate when the hub requires one.
  const tls = config.tls.cert_file === '' ? '' : `--cacert <CA of ${config.tls.cert_file}> ${config.tls.client_auth === 'require' ? '--cert <client cert> --key <client key> ' : ''}`;
  const lines = [`  auth            on; ${first}`];
  if (existsSync(bootstrap)) {
    lines.push(`  try             export OUTRIGGER_TOKEN=$(cat ${bootstrap})`, `                  curl ${tls}-H "Authorization: Bearer $OUTRIGGER_TOKEN" ${http}/api/v1/auth/whoami`);
  }
  return `${lines.join('\n')}\n`;
}
