/**
 * Structural checks of the Helm chart (charts/outrigger) and the Dockerfile, read from the
 * source tree. No helm binary is used: these tests read the template text. What they check and
 * what they cannot:
 *   - `.Values.a.b` paths are found by a regular expression over every action; paths reached
 *     relative to `.` inside `with`/`range` are not followed.
 *   - The YAML check runs on each template's skeleton (every action removed, both branches of
 *     every `if` kept), which shows structure, not any one rendering.
 *   - The two config payloads (hub and injector ConfigMaps) are written in a small subset of
 *     template actions that `renderSubset` renders exactly (it throws on anything else), with
 *     the includes replaced by the values the helpers give for the release "outrigger" in the
 *     namespace "outrigger"; the result goes through the real config loaders.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import selfsigned from 'selfsigned';
import YAML from 'yaml';
import { PACKAGE_ROOT } from '../../src/common/paths.js';
import { hubConfigSchema } from '../../src/config/hub-config.js';
import { injectorConfigSchema } from '../../src/config/injector-config.js';
import { loadConfig } from '../../src/config/layered-config.js';
import { WEBHOOK_PATHS } from '../../src/k8s/inject/webhook-server.js';
import { runCli } from '../helpers/cli-process.js';
import { blockProblems, definedNames, goFloat, includedNames, renderSubset, skeleton, valuesPaths } from './template-text.js';

const CHART_DIR = path.join(PACKAGE_ROOT, 'charts', 'outrigger');
const readChart = (file: string): string => readFileSync(path.join(CHART_DIR, file), 'utf8');
const readRoot = (file: string): string => readFileSync(path.join(PACKAGE_ROOT, file), 'utf8');

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

const chart = YAML.parse(readChart('Chart.yaml')) as Tree;
const valuesText = readChart('values.yaml');
const values = YAML.parse(valuesText) as Tree;
const templates = new Map(readdirSync(path.join(CHART_DIR, 'templates')).sort().map((f) => [f, readChart(`templates/${f}`)] as const));
const manifests = [...templates].filter(([f]) => f.endsWith('.yaml'));
const helpers = templates.get('_helpers.tpl') ?? '';

/** The release the stand-ins below describe; with it, the helpers' base name is "outrigger". */
const RELEASE = { name: 'outrigger', namespace: 'outrigger' };

function at(root: unknown, keys: readonly string[]): unknown {
  let cur = root;
  for (const k of keys) {
    if (!isTree(cur) || !Object.hasOwn(cur, k)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function has(root: unknown, keys: readonly string[]): boolean {
  let cur = root;
  for (const k of keys) {
    if (!isTree(cur) || !Object.hasOwn(cur, k)) return false;
    cur = cur[k];
  }
  return true;
}

/** Leaves of the values tree: scalars, lists and empty maps. */
function leaves(node: unknown, prefix: string[] = []): string[][] {
  if (!isTree(node) || Object.keys(node).length === 0) return [prefix];
  return Object.entries(node).flatMap(([k, v]) => leaves(v, [...prefix, k]));
}

/** What the helpers give for RELEASE with the default values (see _helpers.tpl). */
function includeStandIns(): Record<string, string> {
  const image = values.image as Tree;
  const tag = (image.tag as string) === '' ? (chart.appVersion as string) : (image.tag as string);
  const base = RELEASE.name; // the release name contains the chart name: "outrigger.fullname" keeps it
  return {
    'outrigger.image': `${image.repository as string}:${tag}`,
    'outrigger.hub.grpcAddress': `${base}-hub.${RELEASE.namespace}.svc:${goFloat(at(values, ['hub', 'config', 'grpc_port']) as number)}`,
  };
}

/** The text of one ConfigMap data entry (a `key: |` block scalar), still templated. */
function configMapEntry(template: string, key: string): string {
  const lines = template.split('\n');
  const start = lines.findIndex((l) => l === `  ${key}: |`);
  if (start < 0) throw new Error(`no "  ${key}: |" entry`);
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && !line.startsWith('    ')) break;
    body.push(line);
  }
  return body.join('\n');
}

/** Renders a ConfigMap entry and removes the block scalar's indentation. */
function renderEntry(template: string, key: string): string {
  const rendered = renderSubset(configMapEntry(template, key), {
    values,
    includes: includeStandIns(),
    toYaml: (v) => YAML.stringify(v),
  });
  return rendered
    .split('\n')
    .map((l) => l.replace(/^ {4}/, ''))
    .join('\n');
}

function skeletonDocs(file: string): Tree[] {
  const docs = YAML.parseAllDocuments(skeleton(templates.get(file) ?? ''));
  for (const d of docs) if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
  return docs.map((d) => d.toJS() as unknown).filter(isTree);
}

function docOfKind(file: string, kind: string): Tree {
  const doc = skeletonDocs(file).find((d) => d.kind === kind);
  if (doc === undefined) throw new Error(`${file} has no ${kind}`);
  return doc;
}

const firstContainer = (deployment: Tree): Tree => (at(deployment, ['spec', 'template', 'spec', 'containers']) as Tree[])[0]!;

test('Chart.yaml has the fields Helm requires, and its versions are the package\'s', (t) => {
  const pkg = JSON.parse(readRoot('package.json')) as { version: string };
  t.is(chart.apiVersion, 'v2');
  t.is(chart.name, 'outrigger');
  t.is(chart.type, 'application');
  t.is(chart.version, '0.1.0');
  t.is(chart.appVersion, pkg.version, 'appVersion is the version the image is built from');
  t.is(chart.kubeVersion, '>=1.29.0-0', 'native sidecars need Kubernetes 1.29');
  t.true(typeof chart.description === 'string' && chart.description.length > 0);
});

test('every value in values.yaml is documented with a "# --" comment (on it or on a value holding it)', (t) => {
  const undocumented: string[] = [];
  const stack: Array<{ indent: number; key: string; documented: boolean }> = [];
  let comment: string[] = [];
  for (const line of valuesText.split('\n')) {
    if (line.trim() === '') {
      comment = [];
      continue;
    }
    const c = /^\s*#\s?(.*)$/.exec(line);
    if (c !== null) {
      comment.push(c[1]!);
      continue;
    }
    const k = /^(\s*)([A-Za-z_][\w.-]*):/.exec(line);
    if (k === null) {
      comment = [];
      continue;
    }
    const indent = k[1]!.length;
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const keys = [...stack.map((s) => s.key), k[2]!];
    const documented = comment.some((l) => l.startsWith('-- '));
    const value = at(values, keys);
    const leaf = !isTree(value) || Object.keys(value).length === 0;
    if (leaf && !documented && !stack.some((s) => s.documented)) undocumented.push(keys.join('.'));
    stack.push({ indent, key: k[2]!, documented });
    comment = [];
  }
  t.deepEqual(undocumented, []);
  t.true(leaves(values).length > 40, 'the walk saw the values');
});

test('the chart README lists every value (or the value holding it) and says how the chart was checked', (t) => {
  const readme = readChart('README.md');
  for (const leaf of leaves(values)) {
    const listed = leaf.some((_, i) => readme.includes(`| \`${leaf.slice(0, i + 1).join('.')}\` |`));
    t.true(listed, leaf.join('.'));
  }
  t.true(readme.includes('The chart has\nnot been rendered by helm.') || readme.includes('The chart has not been rendered by helm.'));
  t.regex(readme, /helm lint charts\/outrigger/);
});

test('every .Values path a template names exists in values.yaml', (t) => {
  const missing: string[] = [];
  let seen = 0;
  for (const [file, text] of templates) {
    for (const p of valuesPaths(text)) {
      seen++;
      if (!has(values, p)) missing.push(`${file}: .Values.${p.join('.')}`);
    }
  }
  t.deepEqual(missing, []);
  t.true(seen > 50, `found ${seen} paths`);
});

test('every value in values.yaml is read by some template', (t) => {
  const used = [...templates.values()].flatMap((text) => valuesPaths(text));
  const unread = leaves(values)
    .filter((leaf) => !used.some((p) => p.length <= leaf.length && p.every((k, i) => leaf[i] === k)))
    .map((leaf) => leaf.join('.'));
  t.deepEqual(unread, []);
});

test('if, range, with and define blocks nest and close in every template', (t) => {
  for (const [file, text] of templates) t.deepEqual(blockProblems(text), [], file);
});

test('every include names a template defined in _helpers.tpl', (t) => {
  const defined = new Set(definedNames(helpers));
  t.true(defined.has('outrigger.fullname'));
  for (const [file, text] of templates) {
    for (const name of includedNames(text)) t.true(defined.has(name), `${file} includes "${name}"`);
  }
  for (const [file, text] of templates) {
    if (file !== '_helpers.tpl') t.deepEqual(definedNames(text), [], `${file} defines nothing`);
  }
});

test('every manifest template\'s skeleton is YAML whose documents have apiVersion, kind and metadata.name', (t) => {
  const kinds: string[] = [];
  for (const [file] of manifests) {
    const docs = skeletonDocs(file);
    t.true(docs.length > 0, file);
    for (const doc of docs) {
      t.regex(String(doc.apiVersion), /^([a-z0-9.]+\/)?v1$/, `${file}: apiVersion`);
      t.regex(String(doc.kind), /^[A-Z][A-Za-z]+$/, `${file}: kind`);
      t.true(has(doc, ['metadata', 'name']), `${file}: metadata.name`);
      kinds.push(String(doc.kind));
    }
  }
  for (const kind of ['ConfigMap', 'Deployment', 'Service', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'PodDisruptionBudget', 'Secret', 'MutatingWebhookConfiguration']) {
    t.true(kinds.includes(kind), `the chart has a ${kind}`);
  }
});

test('the hub ConfigMap is hub.config from values.yaml, and the hub loads it as its config file', (t) => {
  const text = renderEntry(templates.get('hub-configmap.yaml')!, 'hub.yaml');
  t.deepEqual(YAML.parse(text), at(values, ['hub', 'config']), 'rendered verbatim');
  const { config } = loadConfig(hubConfigSchema, { args: ['--config', 'hub.yaml'], env: {}, readFile: () => text });
  t.is(config.grpc_port, 15010);
  t.is(config.http_port, 15080);
  t.true(config.kubernetes.enabled, 'the chart turns the Kubernetes source on');
  t.is(config.kubernetes.namespace_suffix, 'svc.cluster.local');
  t.deepEqual(config.kubernetes.namespaces, []);
  t.true(config.auth.enabled);
  t.true(config.auth.kubernetes.enabled, 'the chart\'s sidecars present ServiceAccount tokens, so the hub checks them');
  t.is(config.auth.kubernetes.audience, 'outrigger');
});

test('the hub keeps its tokens in a writable data_dir beside the read-only root, and mounts its ServiceAccount token for TokenReviews', (t) => {
  const deployment = docOfKind('hub-deployment.yaml', 'Deployment');
  const hub = firstContainer(deployment);
  t.true((hub.volumeMounts as Tree[]).some((m) => m.name === 'data'));
  t.is(at(values, ['hub', 'config', 'data_dir']), '/var/lib/outrigger');
  // The skeleton drops actions, so the mount path is read from the template text.
  t.regex(templates.get('hub-deployment.yaml')!, /- name: data\n\s+mountPath: \{\{ \.Values\.hub\.config\.data_dir \}\}\n/, 'mounted where the config puts data_dir');
  const volume = (at(deployment, ['spec', 'template', 'spec', 'volumes']) as Tree[]).find((v) => v.name === 'data');
  t.truthy(volume?.emptyDir);
  t.regex(templates.get('hub-deployment.yaml')!, /automountServiceAccountToken: \{\{ or \(and \.Values\.hub\.config\.kubernetes\.enabled \(empty \.Values\.hub\.config\.kubernetes\.kubeconfig\)\) \.Values\.hub\.config\.auth\.kubernetes\.enabled \}\}/);
});

test('the injector ConfigMap, rendered from values.yaml, is accepted by the injector\'s config loader', (t) => {
  const text = renderEntry(templates.get('injector-configmap.yaml')!, 'injector.yaml');
  const raw = YAML.parse(text) as Tree;
  t.deepEqual(Object.keys(raw).sort(), Object.keys(injectorConfigSchema.shape).sort(), 'the chart sets every injector key');
  const { config } = loadConfig(injectorConfigSchema, { args: ['--config', 'injector.yaml'], env: {}, readFile: () => text });
  t.is(config.port, 9443);
  t.is(config.image, 'outrigger:0.1.0');
  t.deepEqual(config.hubs, ['outrigger-hub.outrigger.svc:15010']);
  t.is(config.namespace_suffix, at(values, ['hub', 'config', 'kubernetes', 'namespace_suffix']) as string, 'sidecars register under the hub\'s Kubernetes names');
  t.deepEqual(config.resources, at(values, ['sidecar', 'resources']));
  t.is(config.tls_cert_file, '/etc/outrigger/tls/tls.crt');
  t.is(config.tls_key_file, '/etc/outrigger/tls/tls.key');
});

/** One HTTPS request that trusts only `ca` and checks the certificate is for localhost; resolves with the status and the parsed JSON body. */
function httpsJson(url: string, ca: string, body?: unknown): Promise<{ status: number; json: Tree }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      url,
      { method: data === undefined ? 'GET' : 'POST', ca, servername: 'localhost', headers: data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Tree }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

test('the real injector runs with the chart\'s config file and answers both webhook paths the chart registers', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-chart-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = path.join(dir, 'injector.yaml');
  writeFileSync(configFile, renderEntry(templates.get('injector-configmap.yaml')!, 'injector.yaml'));
  // The chart mounts its certificate at /etc/outrigger/tls; here a certificate for localhost is
  // passed by flag, which overrides only those two keys of the file.
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
  });
  writeFileSync(path.join(dir, 'tls.crt'), pems.cert);
  writeFileSync(path.join(dir, 'tls.key'), pems.private);
  const cli = runCli([
    'injector', '--config', configFile,
    '--tls-cert-file', path.join(dir, 'tls.crt'), '--tls-key-file', path.join(dir, 'tls.key'),
    '--bind', '127.0.0.1', '--port', '0',
  ]);
  t.teardown(async () => {
    cli.child.kill('SIGTERM');
    await cli.exited;
  });
  const [, port] = await cli.waitForOutput(/listening on https:\/\/[^:\s]+:(\d+)/);
  const base = `https://127.0.0.1:${port}`;

  t.is((await httpsJson(`${base}${WEBHOOK_PATHS.health}`, pems.cert)).status, 200);
  const review = (annotations: Record<string, string>) => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'chart-test',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      operation: 'CREATE',
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { generateName: 'cart-', namespace: 'shop', labels: { app: 'cart' }, annotations },
        spec: { containers: [{ name: 'cart', image: 'cart:1', ports: [{ containerPort: 8080 }] }] },
      },
    },
  });
  const byNamespace = await httpsJson(`${base}${WEBHOOK_PATHS.namespaceOptIn}`, pems.cert, review({}));
  const response = byNamespace.json.response as Tree;
  t.true(response.allowed);
  const patch = JSON.parse(Buffer.from(response.patch as string, 'base64').toString('utf8')) as Tree[];
  const sidecar = JSON.stringify(patch);
  t.true(sidecar.includes('"image":"outrigger:0.1.0"'), 'the chart\'s image');
  t.true(sidecar.includes('outrigger-hub.outrigger.svc:15010'), 'the chart\'s hub Service');
  t.true(sidecar.includes('"value":"shop.svc.cluster.local"'), 'the hub\'s namespace suffix');
  t.true(sidecar.includes('"restartPolicy":"Always"'), 'a native sidecar');
  const hubConfig = loadConfig(hubConfigSchema, { args: ['--config', 'hub.yaml'], env: {}, readFile: () => renderEntry(templates.get('hub-configmap.yaml')!, 'hub.yaml') }).config;
  t.true(sidecar.includes(`"serviceAccountToken":{"audience":"${hubConfig.auth.kubernetes.audience}","expirationSeconds":3600,"path":"token"}`), 'a projected token for the audience the chart\'s hub checks');
  t.true(sidecar.includes('"name":"OUTRIGGER_HUB_TOKEN_FILE","value":"/var/run/secrets/outrigger/token"'));
  t.deepEqual(response.warnings, [
    'outrigger: ServiceAccount "default" is not "cart", the service the sidecar registers; the hub lets an account write only the service of its name: set serviceAccountName: cart, or bind system:serviceaccount:shop:default in the hub\'s auth.bindings',
  ]);

  const notAnnotated = (await httpsJson(`${base}${WEBHOOK_PATHS.annotationOptIn}`, pems.cert, review({}))).json.response as Tree;
  t.true(notAnnotated.allowed);
  t.is(notAnnotated.patch, undefined, 'the annotation webhook leaves a pod without the annotation alone');
  const annotated = (await httpsJson(`${base}${WEBHOOK_PATHS.annotationOptIn}`, pems.cert, review({ 'outrigger.io/inject': 'true' }))).json.response as Tree;
  t.is(typeof annotated.patch, 'string');
});

test('the renderer used above refuses what it cannot render, and prints numbers as Helm does', (t) => {
  const input = { values: { a: { n: 1000000, s: 'x' } }, includes: {}, toYaml: (v: unknown) => YAML.stringify(v) };
  t.throws(() => renderSubset('{{ .Values.a.s | upper }}', input), { message: /outside the subset/ });
  t.throws(() => renderSubset('{{ .Values.a.missing }}', input), { message: /no value/ });
  t.is(renderSubset('{{ .Values.a.n }}', input), '1e+06');
  t.is(goFloat(250000), '250000');
  t.is(goFloat(15010), '15010');
  t.is(goFloat(0.5), '0.5');
  t.is(renderSubset('a:\n  {{- toYaml .Values.a | nindent 2 }}', input), 'a:\n  n: 1000000\n  s: x');
});

test('the hub and the injector read their config files where the ConfigMaps are mounted', (t) => {
  for (const [component, key] of [['hub', 'hub.yaml'], ['injector', 'injector.yaml']] as const) {
    const container = firstContainer(docOfKind(`${component}-deployment.yaml`, 'Deployment'));
    const args = container.args as string[];
    t.is(args[0], component, `${component}: the subcommand`);
    t.is(args[1], '--config');
    const mount = (container.volumeMounts as Tree[]).find((m) => m.name === 'config')!;
    t.is(args[2], `${mount.mountPath as string}/${key}`);
    t.true(has(docOfKind(`${component}-configmap.yaml`, 'ConfigMap'), ['data', key]));
  }
  const injector = firstContainer(docOfKind('injector-deployment.yaml', 'Deployment'));
  const tlsMount = (injector.volumeMounts as Tree[]).find((m) => m.name === 'tls')!;
  const config = YAML.parse(renderEntry(templates.get('injector-configmap.yaml')!, 'injector.yaml')) as Tree;
  t.is(config.tls_cert_file, `${tlsMount.mountPath as string}/tls.crt`);
  t.is(config.tls_key_file, `${tlsMount.mountPath as string}/tls.key`);
});

test('probes: the hub on /health and /ready, the injector on /healthz over HTTPS', (t) => {
  const hub = firstContainer(docOfKind('hub-deployment.yaml', 'Deployment'));
  t.is(at(hub, ['livenessProbe', 'httpGet', 'path']), '/health');
  t.is(at(hub, ['readinessProbe', 'httpGet', 'path']), '/ready');
  t.deepEqual((hub.ports as Tree[]).map((p) => [p.name, p.protocol]), [
    ['grpc', 'TCP'],
    ['http', 'TCP'],
    ['dns-udp', 'UDP'],
    ['dns-tcp', 'TCP'],
  ]);
  const injector = firstContainer(docOfKind('injector-deployment.yaml', 'Deployment'));
  for (const probe of ['livenessProbe', 'readinessProbe']) {
    t.is(at(injector, [probe, 'httpGet', 'path']), WEBHOOK_PATHS.health);
    t.is(at(injector, [probe, 'httpGet', 'scheme']), 'HTTPS');
  }
});

test('the hub Service has grpc (appProtocol grpc), http and DNS (UDP and TCP, while dns.listen is not off) ports; the injector Service 443 → https', (t) => {
  const hub = docOfKind('hub-service.yaml', 'Service');
  t.deepEqual((at(hub, ['spec', 'ports']) as Tree[]).map((p) => [p.name, p.targetPort, p.appProtocol ?? p.protocol]), [
    ['grpc', 'grpc', 'grpc'],
    ['http', 'http', 'http'],
    ['dns-udp', 'dns-udp', 'UDP'],
    ['dns-tcp', 'dns-tcp', 'TCP'],
  ]);
  t.regex(templates.get('hub-service.yaml')!, /\{\{- if ne \.Values\.hub\.config\.dns\.listen "off" \}\}/);
  // The AWS SDKs send DiscoverInstances to data-<host>: a second name for the hub's HTTP port.
  const data = docOfKind('hub-data-service.yaml', 'Service');
  t.deepEqual((at(data, ['spec', 'ports']) as Tree[]).map((p) => [p.name, p.targetPort]), [['http', 'http']]);
  t.regex(templates.get('hub-data-service.yaml')!, /name: \{\{ printf "data-%s" \(include "outrigger\.hub\.fullname" \.\)/);
  const injector = docOfKind('injector-service.yaml', 'Service');
  const [port] = at(injector, ['spec', 'ports']) as Tree[];
  t.is(port!.port, 443);
  t.is(port!.targetPort, 'https');
});

test('pods run as uid 1337 (the image\'s user), non-root, read-only, without privileges', (t) => {
  const pod = values.podSecurityContext as Tree;
  const container = values.securityContext as Tree;
  t.true(pod.runAsNonRoot === true && container.runAsNonRoot === true);
  t.is(pod.runAsUser, 1337);
  t.is(container.runAsUser, 1337);
  t.is(container.readOnlyRootFilesystem, true);
  t.is(container.allowPrivilegeEscalation, false);
  t.deepEqual(at(container, ['capabilities', 'drop']), ['ALL']);
  t.is(at(pod, ['seccompProfile', 'type']), 'RuntimeDefault');
  t.is(at(container, ['seccompProfile', 'type']), 'RuntimeDefault');
  const user = /^USER\s+(\d+)/m.exec(readRoot('Dockerfile'));
  t.is(Number(user?.[1]), pod.runAsUser as number, 'the Dockerfile\'s USER');
  for (const component of ['hub', 'injector']) {
    const tmp = (firstContainer(docOfKind(`${component}-deployment.yaml`, 'Deployment')).volumeMounts as Tree[]).find((m) => m.mountPath === '/tmp');
    t.truthy(tmp, `${component}: a writable /tmp beside the read-only root`);
  }
  t.is(docOfKind('injector-serviceaccount.yaml', 'ServiceAccount').automountServiceAccountToken, false, 'the injector needs no API access');
});

test('RBAC: the hub may get, list and watch Services and EndpointSlices, cluster-wide or per namespace', (t) => {
  const text = templates.get('hub-rbac.yaml')!;
  const rules = YAML.parse(/define "outrigger\.hub\.rbacRules" -\}\}\n([\s\S]*?)\n\{\{- end/.exec(helpers)![1]!) as Tree[];
  t.deepEqual(rules, [
    { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
  ]);
  t.regex(text, /if empty \.Values\.hub\.config\.kubernetes\.namespaces/);
  t.regex(text, /range \$namespace := \.Values\.hub\.config\.kubernetes\.namespaces/);
  t.deepEqual(skeletonDocs('hub-rbac.yaml').map((d) => d.kind), ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
});

test('RBAC: the hub may create TokenReviews (nothing else, cluster-wide) when it checks ServiceAccount tokens', (t) => {
  const text = templates.get('hub-tokenreview-rbac.yaml')!;
  t.regex(text, /^\{\{- if and \.Values\.hub\.config\.auth\.kubernetes\.enabled \.Values\.hub\.rbac\.create \}\}/);
  const role = docOfKind('hub-tokenreview-rbac.yaml', 'ClusterRole');
  t.deepEqual(role.rules, [{ apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] }]);
  const binding = docOfKind('hub-tokenreview-rbac.yaml', 'ClusterRoleBinding');
  t.is(at(binding, ['roleRef', 'kind']), 'ClusterRole');
  // Names are actions, which the skeleton drops: the role, the binding and the roleRef use the same one.
  t.is(text.match(/\{\{ include "outrigger\.hub\.clusterName" \. \}\}-tokenreview\n/g)?.length, 3);
  t.deepEqual((binding.subjects as Tree[]).map((s) => s.kind), ['ServiceAccount']);
  t.regex(text, /name: \{\{ include "outrigger\.hub\.serviceAccountName" \. \}\}/, 'bound to the hub\'s ServiceAccount');
});

test('the webhook: v1 reviews, no side effects, the injector\'s paths on 443, pod CREATE, two disjoint selections', (t) => {
  const webhook = docOfKind('injector-webhook.yaml', 'MutatingWebhookConfiguration');
  const hooks = webhook.webhooks as Tree[];
  t.deepEqual(hooks.map((h) => h.name), ['namespace.inject.outrigger.io', 'pod.inject.outrigger.io']);
  for (const h of hooks) {
    t.deepEqual(h.admissionReviewVersions, ['v1']);
    t.is(h.sideEffects, 'None');
    t.is(at(h, ['clientConfig', 'service', 'port']), 443);
    t.true(has(h, ['clientConfig', 'caBundle']));
    t.deepEqual(h.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
  }
  t.deepEqual(hooks.map((h) => at(h, ['clientConfig', 'service', 'path'])), [WEBHOOK_PATHS.namespaceOptIn, WEBHOOK_PATHS.annotationOptIn], 'the injector\'s own paths');
  const [byNamespace, byPod] = hooks.map((h) => (at(h, ['namespaceSelector', 'matchExpressions']) as Tree[])[0]!);
  t.deepEqual(byNamespace, { key: 'outrigger.io/inject', operator: 'In', values: ['enabled'] });
  t.deepEqual(byPod, { key: 'outrigger.io/inject', operator: 'NotIn', values: ['enabled', 'disabled'] });
  const conditions = hooks.map((h) => ((h.matchConditions as Tree[])[0]!.expression as string));
  t.regex(conditions[0]!, /^!\(.*== 'false'\)$/s, 'an enabled namespace skips pods annotated "false"');
  t.regex(conditions[1]!, /== 'true'$/, 'elsewhere only pods annotated "true" are sent');
  t.true(['Fail', 'Ignore'].includes(at(values, ['injector', 'webhook', 'failurePolicy']) as string));
  const timeout = at(values, ['injector', 'webhook', 'timeoutSeconds']) as number;
  t.true(Number.isInteger(timeout) && timeout >= 1 && timeout <= 30);
  const secret = docOfKind('injector-webhook.yaml', 'Secret');
  t.is(secret.type, 'kubernetes.io/tls');
  t.deepEqual(Object.keys(secret.data as Tree).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
  t.regex(templates.get('injector-deployment.yaml')!, /checksum\/tls: \{\{ \.outriggerInjectorTLS\.crt \| sha256sum \}\}/);
});

test('the Dockerfile builds in stages and runs the CLI as uid 1337 with production dependencies', (t) => {
  const text = readRoot('Dockerfile');
  const stages = text.split(/^FROM\s+/m).slice(1);
  t.true(stages.length >= 2, 'multi-stage');
  t.regex(text, /^FROM \S+ AS build$/m);
  t.regex(text, /npx tsc -p \./);
  t.regex(text, /npm ci --omit=dev --ignore-scripts/);
  const final = stages[stages.length - 1]!;
  t.regex(final, /^USER 1337(:1337)?$/m);
  t.regex(final, /^ENTRYPOINT \["node", "\/app\/dist\/src\/cli\/main\.js"\]$/m);
  t.regex(final, /^COPY --from=build \S*dist\/src \.\/dist\/src$/m);
  t.regex(final, /^COPY proto \.\/proto$/m);
  t.regex(final, /^EXPOSE .*\b15010\b.*\b15080\b/m);
  t.regex(final, /ln -s \/app\/dist\/src\/cli\/main\.js \/usr\/local\/bin\/outrigger/, '`outrigger` on the PATH, for the non-native sidecar\'s postStart hook');
  const ignored = readRoot('.dockerignore').split('\n').map((l) => l.trim());
  for (const entry of ['node_modules', 'dist', '.git']) t.true(ignored.includes(entry), `.dockerignore lists ${entry}`);
});
