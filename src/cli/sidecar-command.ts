import { parseArgs } from 'node:util';
import { parseDuration } from '../common/duration.js';
import { OutriggerError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { formatOptionsHelp, loadConfig, wantsHelp } from '../config/layered-config.js';
import { resolveSidecarConfig, sidecarConfigSchema } from '../config/sidecar-config.js';
import { Sidecar } from '../sidecar/sidecar.js';
import { waitReady } from '../sidecar/wait-ready.js';
import type { Command } from './command.js';
import { untilSignal } from './signals.js';

const HELP = `Usage: outrigger sidecar [--config sidecar.yaml] [options]
       outrigger sidecar wait-ready [--admin http://127.0.0.1:15000] [--timeout 60s] [--proxy]

Runs the sidecar beside an app: registers it with the hub, health-checks it, watches the
services it calls, and serves the admin API. On SIGTERM it marks the instance DRAINING, waits
drain_period, deregisters and exits (POST /quitquitquit cuts the wait short).

\`wait-ready\` exits 0 once the local sidecar answers /ready with 200 (the app is healthy and
the sidecar can route), 1 when the timeout passes first. With --proxy it waits for
/ready/proxy instead (the sidecar can route the app's calls, whatever the app's health): what a
postStart hook or an entrypoint wrapper holding the app until its sidecar is up needs.

Settings come from defaults, then the YAML file, then OUTRIGGER_* environment variables, then
flags (a later layer wins). On Kubernetes, POD_UID, POD_NAME, POD_IP, POD_NAMESPACE and
NODE_NAME (the downward API) fill instance_id, advertise_address, namespace and metadata.

Options:
  -c, --config <file>
      YAML config file; env OUTRIGGER_CONFIG
  -h, --help
${formatOptionsHelp(sidecarConfigSchema)}
`;

async function runWaitReady(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let values: { admin?: string; timeout?: string; proxy?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: { admin: { type: 'string' }, timeout: { type: 'string' }, proxy: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    throw new OutriggerError('config_invalid', `${(err as Error).message}; see --help`);
  }
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const admin = values.admin ?? env.OUTRIGGER_ADMIN ?? `http://127.0.0.1:${env.OUTRIGGER_ADMIN_PORT ?? 15000}`;
  const timeoutText = values.timeout ?? '60s';
  const timeoutMs = /^\d+(\.\d+)?$/.test(timeoutText) ? Number(timeoutText) * 1000 : parseDuration(timeoutText);
  if (timeoutMs === undefined) {
    throw new OutriggerError('config_invalid', `--timeout: must be a duration such as "30s" or a number of seconds, got ${JSON.stringify(timeoutText)}`, 'timeout');
  }
  const result = await waitReady(admin, timeoutMs, values.proxy === true ? 'proxy' : 'pod');
  if (result.ready) {
    process.stdout.write(`sidecar at ${admin} is ready\n`);
    return 0;
  }
  process.stderr.write(`sidecar at ${admin} not ready after ${timeoutText}: ${result.reason}\n`);
  return 1;
}

export const sidecarCommand: Command = {
  async run(args, env) {
    if (args[0] === 'wait-ready') return runWaitReady(args.slice(1), env);
    if (wantsHelp(sidecarConfigSchema, args)) {
      process.stdout.write(HELP);
      return 0;
    }
    const { config: parsed } = loadConfig(sidecarConfigSchema, { args, env });
    const config = resolveSidecarConfig(parsed, env);
    const logger = createLogger(config.log_level, { service: 'outrigger-sidecar', instance: config.instance_id });
    const sidecar = new Sidecar(config, { logger });
    const at = await sidecar.start();
    const locals = Object.entries(at.localPorts).map(([name, port]) => `\n  ${name}  127.0.0.1:${port}`).join('');
    process.stdout.write(
      `outrigger sidecar ready to serve ${config.service}.${config.namespace} (instance ${config.instance_id})\n  admin     ${at.admin}\n  outbound  ${at.outbound}  (HTTP_PROXY, or Host: <service>.<namespace>)${locals}\n  dns       ${at.dnsPort !== undefined ? `${config.dns.listen.replace(/:\d+$/, '') || '127.0.0.1'}:${at.dnsPort}` : 'off'}\n`,
    );
    const signal = await Promise.race([untilSignal(), sidecar.done.then(() => undefined)]);
    if (signal !== undefined) {
      logger.info('signal received: draining', { signal });
      await sidecar.drain();
    }
    return 0;
  },
};
