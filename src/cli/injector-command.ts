import { createLogger } from '../common/logger.js';
import { injectorConfigSchema } from '../config/injector-config.js';
import { formatOptionsHelp, loadConfig, wantsHelp } from '../config/layered-config.js';
import { InjectorServer, WEBHOOK_PATHS } from '../k8s/inject/webhook-server.js';
import type { Command } from './command.js';
import { untilSignal } from './signals.js';

const HELP = `Usage: outrigger injector [--config injector.yaml] [options]

Runs the Kubernetes sidecar injector: a mutating admission webhook over HTTPS that adds the
Outrigger sidecar to pods as they are created.

  POST ${WEBHOOK_PATHS.namespaceOptIn}            for the webhook whose namespaceSelector matches outrigger.io/inject=enabled:
                        every pod is injected unless it is annotated outrigger.io/inject: "false"
  POST ${WEBHOOK_PATHS.annotationOptIn}  for other namespaces: only pods annotated outrigger.io/inject: "true"
  GET  ${WEBHOOK_PATHS.health}           200 while the webhook serves

Without tls_cert_file and tls_key_file it makes a self-signed certificate for localhost at
start (for trying it locally; the Helm chart supplies a real one). Settings come from defaults,
then the YAML file, then OUTRIGGER_* environment variables, then flags (a later layer wins).

Options:
  -c, --config <file>
      YAML config file; env OUTRIGGER_CONFIG
  -h, --help
${formatOptionsHelp(injectorConfigSchema)}
`;

export const injectorCommand: Command = {
  async run(args, env) {
    if (wantsHelp(injectorConfigSchema, args)) {
      process.stdout.write(HELP);
      return 0;
    }
    const { config } = loadConfig(injectorConfigSchema, { args, env });
    const logger = createLogger(config.log_level, { service: 'outrigger-injector' });
    const server = new InjectorServer(config, { logger });
    const at = await server.start();
    const cert = at.selfSigned ? '  (self-signed certificate: curl -k)' : '';
    process.stdout.write(
      `outrigger injector listening on ${at.url}${cert}\n  POST ${at.url}${WEBHOOK_PATHS.namespaceOptIn}  POST ${at.url}${WEBHOOK_PATHS.annotationOptIn}  GET ${at.url}${WEBHOOK_PATHS.health}\n`,
    );
    const signal = await untilSignal();
    logger.info('stopping', { signal });
    await server.stop();
    return 0;
  },
};
