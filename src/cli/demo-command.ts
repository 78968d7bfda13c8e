import { createLogger } from '../common/logger.js';
import { hubConfigSchema } from '../config/hub-config.js';
import { formatOptionsHelp, loadConfig, wantsHelp } from '../config/layered-config.js';
import { DEMO_NAMESPACE, startDemo } from '../demo/demo.js';
import { sampleCalls } from '../demo/sample-calls.js';
import { listenPort } from '../model/port.js';
import type { Command } from './command.js';
import { untilSignal } from './signals.js';

/** The hub's options, on loopback by default (it is a mesh on this machine), plus where web's sidecar serves its admin API. */
const demoConfigSchema = hubConfigSchema.extend({
  bind: hubConfigSchema.shape.bind.unwrap().default('127.0.0.1').describe("Address the demo hub's listeners bind to"),
  admin_port: listenPort("Admin port of web's sidecar", 15000),
  outbound_port: listenPort("Outbound proxy port of web's sidecar", 15001),
});

const HELP = `Usage: outrigger demo [options]

Runs the embedded default, a small mesh on loopback: a hub with the in-memory store, three
echo apps (echo.${DEMO_NAMESPACE}, two zones) and a web app (web.${DEMO_NAMESPACE}), each beside
its own sidecar. Takes the options of \`outrigger hub\`, plus --admin-port for web's sidecar.

Options:
  -c, --config <file>
  -h, --help
${formatOptionsHelp(demoConfigSchema)}
`;

export const demoCommand: Command = {
  async run(args, env) {
    if (wantsHelp(demoConfigSchema, args)) {
      process.stdout.write(HELP);
      return 0;
    }
    const { config } = loadConfig(demoConfigSchema, { args, env });
    const logger = createLogger(config.log_level === 'info' ? 'warn' : config.log_level, { service: 'outrigger-demo' });
    const demo = await startDemo(config, logger, { webAdminPort: config.admin_port, webOutboundPort: config.outbound_port });
    const { http, grpc } = demo.addresses;
    const web = demo.web.admin.admin;
    const proxy = demo.web.admin.outbound;
    const calls = await sampleCalls(demo.web.admin.outboundPort, `echo.${DEMO_NAMESPACE}`, 6);
    process.stdout.write(
      [
        'Outrigger demo is running (Ctrl-C to stop).',
        '',
        `  hub dashboard         ${http}/ui/   (${demo.adminToken !== undefined ? 'sign in with the admin token below' : 'open to anyone: auth is off'})`,
        `  sidecar dashboard     ${web}/ui/   (web's sidecar: its calls to echo, live)`,
        '',
        `  hub REST, /metrics    ${http}`,
        `  hub gRPC + xDS        ${grpc}   (registration API, Watch, Session, Envoy v3 ADS)`,
        ...demo.echoes.map((m) => `  ${m.app.name} app         http://127.0.0.1:${m.app.port}   sidecar admin ${m.admin.admin}`),
        `  web-1 app          http://127.0.0.1:${demo.web.app.port}   sidecar admin ${web}   outbound proxy ${proxy}`,
        '',
        `Six calls from web to echo.${DEMO_NAMESPACE} through web's sidecar (round robin, zone-aware: web is in zone-a):`,
        ...calls.map((c, i) => `  ${i + 1}. answered by ${c}`),
        '',
        ...(demo.adminToken !== undefined
          ? [
              "The hub's APIs need a token (auth is on). This run's admin token, for the commands below:",
              `  export OUTRIGGER_TOKEN=${demo.adminToken}`,
              '',
            ]
          : ['Auth is off (auth.enabled: false): the hub answers anyone.', '']),
        'Try:',
        `  curl -x ${proxy} http://echo.${DEMO_NAMESPACE}/hello             # as an app with HTTP_PROXY set`,
        `  curl -H 'Host: echo.${DEMO_NAMESPACE}' ${proxy}/hello            # Host routing`,
        `  curl -H "Authorization: Bearer $OUTRIGGER_TOKEN" '${http}/api/v1/discover?service_name=echo&namespace=${DEMO_NAMESPACE}'   # the hub's view`,
        `  curl -H "Authorization: Bearer $OUTRIGGER_TOKEN" ${http}/api/v1/auth/whoami`,
        `  curl ${web}/clusters      # web's sidecar: its view of echo`,
        `  curl ${web}/ready         # 200 once web is healthy and its sidecar has peer config`,
        `  curl ${web}/metrics | grep outrigger_sidecar_`,
        `  proxyless gRPC clients: target xds:///<service>.<namespace> with a bootstrap pointing at ${grpc}`,
        ...(demo.anonymousRead ? [] : ['    (they cannot send a token: start the demo with --auth.anonymous.enabled true to let them read)']),
        '',
      ].join('\n'),
    );
    await untilSignal();
    await demo.stop();
    return 0;
  },
};
