import { createLogger } from '../common/logger.js';
import { hubConfigSchema } from '../config/hub-config.js';
import { formatOptionsHelp, loadConfig, wantsHelp } from '../config/layered-config.js';
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
    process.stdout.write(`outrigger hub ready\n  REST + metrics  ${at.http}  (try: curl ${at.http}/api/v1/services)\n  gRPC + xDS      ${at.grpc}\n`);
    const signal = await untilSignal();
    logger.info('stopping', { signal });
    await hub.stop();
    return 0;
  },
};
