import { createLogger } from '../common/logger.js';
import { hubConfigSchema } from '../config/hub-config.js';
import { formatOptionsHelp, loadConfig } from '../config/layered-config.js';
import { DEMO_NAMESPACE, startDemo } from '../demo/demo.js';
import type { Command } from './command.js';
import { untilSignal } from './signals.js';

const HELP = `Usage: outrigger demo [options]

Runs the embedded default on loopback: a hub with the in-memory store and three sample
echo apps registered as echo.${DEMO_NAMESPACE}. Takes the same options as \`outrigger hub\`.

Options:
  -c, --config <file>
  -h, --help
${formatOptionsHelp(hubConfigSchema)}
`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run a hub with sample apps on loopback (what `npm start` runs)',
  async run(args, env) {
    const { config, help } = loadConfig(hubConfigSchema, { args, env });
    if (help) {
      process.stdout.write(HELP);
      return 0;
    }
    const logger = createLogger(config.log_level === 'info' ? 'warn' : config.log_level, { service: 'outrigger-demo' });
    const demo = await startDemo(config, logger);
    const { http, grpc } = demo.addresses;
    process.stdout.write(
      [
        'Outrigger demo is running (Ctrl-C to stop).',
        '',
        `  hub REST, /metrics   ${http}`,
        `  hub gRPC + xDS       ${grpc}   (registration API, Watch, Session, Envoy v3 ADS)`,
        ...demo.apps.map((a) => `  sample app ${a.name}    http://127.0.0.1:${a.port}   registered as echo.${DEMO_NAMESPACE}`),
        '',
        'Try:',
        `  curl '${http}/api/v1/discover?service_name=echo&namespace=${DEMO_NAMESPACE}'`,
        `  curl ${http}/api/v1/namespaces`,
        `  curl ${http}/metrics | grep outrigger_hub_instances`,
        `  proxyless gRPC clients: target xds:///<service>.<namespace> with a bootstrap pointing at ${grpc}`,
        '',
      ].join('\n'),
    );
    await untilSignal();
    await demo.stop();
    return 0;
  },
};
