import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import test from 'ava';
import YAML from 'yaml';
import { PACKAGE_ROOT } from '../../src/common/paths.js';
import { CLI, runCli } from '../helpers/cli-process.js';

const K8S = path.join(PACKAGE_ROOT, 'test', 'k8s');
const fixture = (name: string): string => path.join(K8S, 'fixtures', name);
const golden = (name: string): string => readFileSync(path.join(K8S, 'golden', name), 'utf8');

async function inject(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const cli = runCli(['inject', ...args], env);
  const code = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** Runs `outrigger inject -f -` with the text on stdin (runCli gives its children no stdin). */
function injectStdin(text: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'inject', '-f', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(text);
  // 'close' comes after stdout and stderr have ended; 'exit' may come before the last output.
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

test('a Deployment between a Service and a ConfigMap: the workload is injected, the others are copied byte for byte', async (t) => {
  const out = await inject(['-f', fixture('deployment.yaml')]);
  t.is(out.code, 0, out.stderr);
  t.is(out.stdout, golden('deployment.yaml'));
  const source = readFileSync(fixture('deployment.yaml'), 'utf8').split('---\n');
  const printed = out.stdout.split('---\n');
  t.is(printed.length, 3);
  t.is(printed[0], source[0], 'the Service (and the comment above it) is untouched');
  t.is(printed[2], source[2], 'the ConfigMap is untouched');
  const [, deployment] = YAML.parseAllDocuments(out.stdout).map((d) => d.toJS() as { spec: { template: { spec: { initContainers: Array<{ name: string; restartPolicy: string }> } } } });
  t.deepEqual(deployment?.spec.template.spec.initContainers.map((c) => [c.name, c.restartPolicy]), [['outrigger-sidecar', 'Always']]);
  t.true(out.stdout.includes('app: web # also the service name the sidecar registers'), 'comments inside the changed document survive');
  t.is(
    out.stderr,
    'outrigger inject: warning: document 2 (Deployment web): ServiceAccount "default" is not "web", the service the sidecar registers; the hub lets an account write only the service of its name: set serviceAccountName: web, or bind system:serviceaccount:shop:default in the hub\'s auth.bindings\n',
    'the ServiceAccount warning, on stderr so stdout stays a manifest',
  );
});

test('a CronJob is injected in spec.jobTemplate.spec.template', async (t) => {
  const out = await inject(['-f', fixture('cronjob.yaml')]);
  t.is(out.code, 0, out.stderr);
  t.is(out.stdout, golden('cronjob.yaml'));
  const cron = YAML.parse(out.stdout) as { spec: { jobTemplate: { spec: { template: { metadata: { annotations: Record<string, string> }; spec: { initContainers: Array<{ name: string }> } } } } } };
  t.is(cron.spec.jobTemplate.spec.template.spec.initContainers[0]?.name, 'outrigger-sidecar');
  t.is(cron.spec.jobTemplate.spec.template.metadata.annotations['outrigger.io/status'], 'injected');
});

test('StatefulSet fallback with proxy env, an opted-out DaemonSet, a bare Pod, and injector options from flags', async (t) => {
  const out = await inject(['-f', fixture('workloads.yaml'), '--image', 'outrigger-sidecar:0.1.0-test', '--image-pull-policy', 'Always']);
  t.is(out.code, 0, out.stderr);
  t.is(out.stdout, golden('workloads.yaml'));
  const source = readFileSync(fixture('workloads.yaml'), 'utf8').split('---\n');
  t.is(out.stdout.split('---\n')[2], source[2], 'the DaemonSet that says outrigger.io/inject: "false" is untouched');
});

test('-f - reads the manifest from stdin', async (t) => {
  const out = await injectStdin(readFileSync(fixture('deployment.yaml'), 'utf8'));
  t.is(out.code, 0, out.stderr);
  t.is(out.stdout, golden('deployment.yaml'));
});

test('injecting injected output again changes nothing', async (t) => {
  const out = await injectStdin(golden('workloads.yaml'));
  t.is(out.code, 0, out.stderr);
  t.is(out.stdout, golden('workloads.yaml'));
});

test('an invalid annotation exits 2 naming the document, its kind and name, and the annotation', async (t) => {
  const out = await inject(['-f', fixture('invalid-annotation.yaml')]);
  t.is(out.code, 2);
  t.is(out.stdout, '');
  t.regex(out.stderr, /document 2 \(Deployment cart\): annotation outrigger\.io\/lb-policy: must be one of round_robin, .*peak_ewma, got "fastest"/);
});

test('a bad manifest exits 2 naming the document', async (t) => {
  const noPort = await injectStdin('kind: Service\n---\nkind: Job\nmetadata: {name: once}\nspec:\n  template:\n    spec:\n      containers: [{name: run}]\n');
  t.is(noPort.code, 2);
  t.regex(noPort.stderr, /document 2 \(Job once\): annotation outrigger\.io\/app-port: is needed/);
  const broken = await injectStdin('kind: Pod\nspec: [unclosed\n');
  t.is(broken.code, 2);
  t.regex(broken.stderr, /document 1: not valid YAML/);
  const noSpec = await injectStdin('kind: Deployment\nmetadata: {name: web}\n');
  t.is(noSpec.code, 2, noSpec.stderr);
  t.regex(noSpec.stderr, /document 1 \(Deployment web\) in the pod template spec\.template: pod: must be an object/);
  const missing = await inject(['-f', fixture('no-such-file.yaml')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /no-such-file\.yaml cannot be read: ENOENT/);
});

test('inject and injector have --help', async (t) => {
  const inj = await inject(['--help']);
  t.is(inj.code, 0);
  t.regex(inj.stdout, /Usage: outrigger inject -f/);
  t.regex(inj.stdout, /--native-sidecar <boolean>/);
  const injector = runCli(['injector', '--help']);
  t.is(await injector.exited, 0);
  t.regex(injector.stdout(), /Usage: outrigger injector/);
  t.regex(injector.stdout(), /OUTRIGGER_TLS_CERT_FILE/);
});

test('outrigger injector serves HTTPS with a self-signed certificate, says where, and exits 0 on SIGTERM', async (t) => {
  const injector = runCli(['injector', '--port', '0', '--bind', '127.0.0.1']);
  const [, url] = await injector.waitForOutput(/listening on (https:\/\/127\.0\.0\.1:\d+)/);
  const status = await new Promise<number>((resolve, reject) => {
    https.get(`${url}/healthz`, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
  t.is(status, 200);
  t.regex(injector.stderr(), /generated a self-signed certificate/);
  injector.child.kill('SIGTERM');
  t.is(await injector.exited, 0);
});
