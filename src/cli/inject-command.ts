import { readFileSync } from 'node:fs';
import { OutriggerError } from '../common/errors.js';
import { injectorConfigSchema } from '../config/injector-config.js';
import { formatOptionsHelp, loadConfig, wantsHelp } from '../config/layered-config.js';
import { injectManifest } from '../k8s/inject/manifest-inject.js';
import type { Command } from './command.js';

const HELP = `Usage: outrigger inject -f <manifest.yaml | -> [--config injector.yaml] [options]

Adds the Outrigger sidecar to the workloads of a multi-document YAML manifest (Pod, Deployment,
StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) and prints the result on stdout, as the
injector webhook would change them; other kinds pass through unchanged. Every workload is
injected unless its pod template is annotated outrigger.io/inject: "false". The sidecar
presents the pod's ServiceAccount token to the hub; a workload whose ServiceAccount is not
named like its service gets a warning on stderr.

  outrigger inject -f deploy.yaml | kubectl apply -f -

Takes the injector's options (image, hubs, native_sidecar, ...); its listening options are
ignored. A bad manifest or annotation exits with code 2 and names the document.

Options:
  -f, --filename <file>
      The manifest to read; "-" reads stdin
  -c, --config <file>
      YAML config file; env OUTRIGGER_CONFIG
  -h, --help
${formatOptionsHelp(injectorConfigSchema)}
`;

/** Takes -f/--filename out of the arguments (the rest are the config's flags). */
function splitFilename(args: readonly string[]): { file?: string; rest: string[] } {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = /^(?:-f|--filename)=(.*)$/.exec(arg);
    let value: string | undefined;
    if (eq !== null) value = eq[1];
    else if (arg === '-f' || arg === '--filename') {
      value = args[i + 1];
      if (value === undefined) throw new OutriggerError('config_invalid', `${arg}: needs a file name (or "-" for stdin)`, 'filename');
      i++;
    } else {
      rest.push(arg);
      continue;
    }
    if (file !== undefined) throw new OutriggerError('config_invalid', '-f: give one manifest (concatenate several with ---)', 'filename');
    file = value;
  }
  return file === undefined ? { rest } : { file, rest };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export const injectCommand: Command = {
  async run(args, env) {
    const { file, rest } = splitFilename(args);
    if (wantsHelp(injectorConfigSchema, rest)) {
      process.stdout.write(HELP);
      return 0;
    }
    const { config, positionals } = loadConfig(injectorConfigSchema, { args: rest, env });
    if (positionals.length > 0) throw new OutriggerError('config_invalid', `unexpected argument ${JSON.stringify(positionals[0])}; give the manifest with -f <file>`, 'filename');
    if (file === undefined) {
      process.stderr.write(HELP);
      return 2;
    }
    let text: string;
    if (file === '-') text = await readStdin();
    else {
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new OutriggerError('config_invalid', `-f: ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'filename');
      }
    }
    const result = injectManifest(text, config);
    process.stdout.write(result.text);
    // On stderr, so the manifest on stdout can still be piped to kubectl.
    for (const warning of result.documents.flatMap((d) => d.warnings ?? [])) process.stderr.write(`outrigger inject: warning: ${warning}\n`);
    return 0;
  },
};
