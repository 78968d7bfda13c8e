import test from 'ava';
import fjp from 'fast-json-patch';
import YAML from 'yaml';
import { OutriggerError } from '../../src/common/errors.js';
import { injectorConfigSchema, type InjectorConfig } from '../../src/config/injector-config.js';
import { loadConfig } from '../../src/config/layered-config.js';
import { resolveSidecarConfig, sidecarConfigSchema } from '../../src/config/sidecar-config.js';
import { injectPod, type InjectResult } from '../../src/k8s/inject/inject-pod.js';
import { applyPatchToYaml } from '../../src/k8s/inject/yaml-patch.js';
import { parseWith } from '../../src/model/parse-input.js';
import type { Container, Pod } from './helpers/injected-pod.js';

const config = (over: Record<string, unknown> = {}): InjectorConfig => parseWith(injectorConfigSchema, over, '', 'config_invalid');

function pod(annotations?: Record<string, string>, extra: Partial<Pod['spec']> = {}): Pod {
  return {
    metadata: { name: 'web-0', namespace: 'shop', labels: { app: 'web' }, ...(annotations !== undefined ? { annotations } : {}) },
    spec: { containers: [{ name: 'web', image: 'shop/web:1', ports: [{ containerPort: 8080 }] }], ...extra },
  };
}

function applied(p: Pod, result: InjectResult): Pod {
  return fjp.applyPatch(structuredClone(p), fjp.deepClone(result.patch), true, false).newDocument;
}

const envOf = (c: Container | undefined): Record<string, string | undefined> =>
  Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? `fieldRef:${e.valueFrom?.fieldRef.fieldPath}`]));

function throwsAnnotation(t: import('ava').ExecutionContext, fn: () => unknown, annotation: string, allowed: RegExp): void {
  const err = t.throws(fn, { instanceOf: OutriggerError });
  t.is(err?.code, 'annotation_invalid');
  t.is(err?.field, annotation);
  t.true(err?.message.includes(annotation), `message names ${annotation}: ${err?.message}`);
  t.regex(err?.message ?? '', allowed);
}

test('a pod annotated inject "true" gets a native sidecar as its first init container', (t) => {
  const p = pod({ 'outrigger.io/inject': 'true' });
  const result = injectPod(p, config(), { namespace: 'shop', namespaceOptIn: false });
  t.true(result.injected);
  const out = applied(p, result);
  const sidecar = out.spec.initContainers?.[0];
  t.is(sidecar?.name, 'outrigger-sidecar');
  t.is(sidecar?.restartPolicy, 'Always');
  t.deepEqual(sidecar?.args, ['sidecar']);
  t.is(sidecar?.image, 'outrigger:0.1.0');
  t.deepEqual(sidecar?.readinessProbe?.httpGet, { path: '/ready', port: 15000 });
  t.deepEqual(sidecar?.livenessProbe?.httpGet, { path: '/live', port: 15000 });
  t.deepEqual(sidecar?.startupProbe?.httpGet, { path: '/ready/proxy', port: 15000 });
  t.is(sidecar?.lifecycle, undefined);
  t.deepEqual(sidecar?.ports?.map((x) => [x.name, x.containerPort]), [['outrigger-admin', 15000], ['outrigger-proxy', 15001]]);
  t.like(sidecar?.securityContext, { runAsNonRoot: true, runAsUser: 1337, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  t.deepEqual(sidecar?.resources, { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } });
  t.like(envOf(sidecar), {
    POD_UID: 'fieldRef:metadata.uid',
    POD_NAME: 'fieldRef:metadata.name',
    POD_NAMESPACE: 'fieldRef:metadata.namespace',
    POD_IP: 'fieldRef:status.podIP',
    NODE_NAME: 'fieldRef:spec.nodeName',
    // A small young generation: the sidecar's peak RSS falls by about 25 MB (bench/README.md).
    NODE_OPTIONS: '--max-semi-space-size=2',
    OUTRIGGER_SERVICE: 'web',
    OUTRIGGER_NAMESPACE: 'shop.svc.cluster.local',
    OUTRIGGER_APP__PORT: '8080',
    OUTRIGGER_APP__PROTOCOL: 'http',
    OUTRIGGER_HUBS: '["outrigger-hub.outrigger.svc:15010"]',
  });
  t.false('OUTRIGGER_HEALTH_CHECK' in envOf(sidecar));
  t.is(out.metadata.annotations?.['outrigger.io/status'], 'injected');
  t.deepEqual(out.spec.containers.map((c) => c.name), ['web'], 'the app containers are unchanged');
  t.deepEqual(out.spec.volumes?.map((v) => v.name), ['outrigger-tmp', 'outrigger-token']);
  t.is(envOf(sidecar).OUTRIGGER_HUB_TOKEN_FILE, '/var/run/secrets/outrigger/token');
});

test('whole arrays are added where the pod has none, items appended or inserted where it has some', (t) => {
  const bare = injectPod({ spec: { containers: [{ name: 'a', ports: [{ containerPort: 80 }] }] } }, config(), { namespace: 'ns', namespaceOptIn: true, workloadName: 'a' });
  t.deepEqual(
    bare.patch.map((o) => o.path),
    ['/metadata', '/spec/volumes', '/spec/initContainers'],
  );
  const full = pod(
    { 'outrigger.io/inject': 'true', 'outrigger.io/proxy-env': 'true' },
    { initContainers: [{ name: 'migrate' }], volumes: [{ name: 'data' }], containers: [{ name: 'web', ports: [{ containerPort: 8080 }], env: [{ name: 'A', value: '1' }] }, { name: 'log' }] },
  );
  const result = injectPod(full, config(), { namespace: 'shop', namespaceOptIn: false });
  t.deepEqual(
    result.patch.map((o) => o.path),
    [
      '/metadata/annotations/outrigger.io~1status',
      '/spec/volumes/-',
      '/spec/volumes/-',
      '/spec/containers/0/env/-',
      '/spec/containers/0/env/-',
      '/spec/containers/0/env/-',
      '/spec/containers/0/env/-',
      '/spec/containers/1/env',
      '/spec/initContainers/0',
    ],
  );
  const out = applied(full, result);
  t.deepEqual(out.spec.initContainers?.map((c) => c.name), ['outrigger-sidecar', 'migrate']);
  t.deepEqual(envOf(out.spec.containers[0]), { A: '1', HTTP_PROXY: 'http://127.0.0.1:15001', http_proxy: 'http://127.0.0.1:15001', NO_PROXY: 'localhost,127.0.0.1,::1', no_proxy: 'localhost,127.0.0.1,::1' });
  t.is(envOf(out.spec.containers[1]).HTTP_PROXY, 'http://127.0.0.1:15001');
});

test('proxy env never overrides a variable the app container sets itself', (t) => {
  const p = pod({ 'outrigger.io/inject': 'true' }, { containers: [{ name: 'web', ports: [{ containerPort: 8080 }], env: [{ name: 'HTTP_PROXY', value: 'http://corp:3128' }] }] });
  const out = applied(p, injectPod(p, config({ proxy_env: true }), { namespaceOptIn: false }));
  t.is(out.spec.containers[0]?.env?.filter((e) => e.name === 'HTTP_PROXY').length, 1);
  t.is(envOf(out.spec.containers[0]).HTTP_PROXY, 'http://corp:3128');
  t.is(envOf(out.spec.containers[0]).NO_PROXY, 'localhost,127.0.0.1,::1');
});

test('the regular-container fallback goes first in containers and holds the app with a postStart wait-ready', (t) => {
  for (const [annotations, cfg] of [
    [{ 'outrigger.io/inject': 'true', 'outrigger.io/native-sidecar': 'false', 'outrigger.io/proxy-env': 'true' }, config()],
    [{ 'outrigger.io/inject': 'true', 'outrigger.io/proxy-env': 'true' }, config({ native_sidecar: false })],
  ] as const) {
    const p = pod({ ...annotations });
    const out = applied(p, injectPod(p, cfg, { namespaceOptIn: false }));
    t.is(out.spec.initContainers, undefined);
    t.deepEqual(out.spec.containers.map((c) => c.name), ['outrigger-sidecar', 'web']);
    const sidecar = out.spec.containers[0]!;
    t.is(sidecar.restartPolicy, undefined);
    t.is(sidecar.startupProbe, undefined);
    t.deepEqual(sidecar.lifecycle?.postStart.exec.command.slice(0, 4), ['outrigger', 'sidecar', 'wait-ready', '--proxy']);
    // The proxy env landed on the app, not on the sidecar that moved in front of it.
    t.is(envOf(out.spec.containers[1]).HTTP_PROXY, 'http://127.0.0.1:15001');
    t.is(envOf(sidecar).HTTP_PROXY, undefined);
  }
});

test('opt-in: annotation "true" or the namespace selector; "false" always wins', (t) => {
  t.false(injectPod(pod(), config(), { namespaceOptIn: false }).injected);
  t.true(injectPod(pod(), config(), { namespaceOptIn: true }).injected);
  t.true(injectPod(pod({ 'outrigger.io/inject': 'true' }), config(), { namespaceOptIn: false }).injected);
  const out = injectPod(pod({ 'outrigger.io/inject': 'false', 'outrigger.io/app-port': 'not a port' }), config(), { namespaceOptIn: true });
  t.false(out.injected);
  t.deepEqual(out.patch, []);
  t.regex(out.injected ? '' : out.reason, /outrigger\.io\/inject: "false"/);
  t.regex((injectPod(pod(), config(), { namespaceOptIn: false }) as { reason: string }).reason, /not opted in/);
  const host = injectPod({ ...pod({ 'outrigger.io/inject': 'true' }), spec: { ...pod().spec, hostNetwork: true } }, config(), { namespaceOptIn: true });
  t.false(host.injected);
  t.regex(host.injected ? '' : host.reason, /hostNetwork/);
});

test('a pod that already has the sidecar or the status annotation is left alone', (t) => {
  const p = pod({ 'outrigger.io/inject': 'true' });
  const once = applied(p, injectPod(p, config(), { namespaceOptIn: false }));
  const again = injectPod(once, config(), { namespaceOptIn: true });
  t.false(again.injected);
  t.deepEqual(again.patch, []);
  t.false(injectPod(pod({ 'outrigger.io/status': 'injected' }), config(), { namespaceOptIn: true }).injected);
  t.false(injectPod(pod(undefined, { containers: [{ name: 'outrigger-sidecar' }, { name: 'web' }] }), config(), { namespaceOptIn: true }).injected);
  t.false(injectPod(pod(undefined, { initContainers: [{ name: 'outrigger-sidecar' }] }), config(), { namespaceOptIn: true }).injected);
});

test('the function is pure: the pod is not changed and the same input gives the same patch', (t) => {
  const p = pod({ 'outrigger.io/inject': 'true', 'outrigger.io/upstreams': 'billing' });
  const before = structuredClone(p);
  const a = injectPod(p, config(), { namespace: 'shop', namespaceOptIn: false });
  const b = injectPod(p, config(), { namespace: 'shop', namespaceOptIn: false });
  t.deepEqual(p, before);
  t.deepEqual(a, b);
});

test('service name: annotation, else app.kubernetes.io/name, else app, else the name stem', (t) => {
  const service = (p: unknown, workloadName?: string): string => {
    const r = injectPod(p, config(), { namespaceOptIn: true, ...(workloadName !== undefined ? { workloadName } : {}) });
    return r.injected ? r.sidecar.service : 'not injected';
  };
  const spec = { containers: [{ name: 'c', ports: [{ containerPort: 80 }] }] };
  t.is(service({ metadata: { annotations: { 'outrigger.io/service': 'cart' }, labels: { app: 'x' } }, spec }), 'cart');
  t.is(service({ metadata: { labels: { 'app.kubernetes.io/name': 'users', app: 'x' } }, spec }), 'users');
  t.is(service({ metadata: { labels: { app: 'orders' } }, spec }), 'orders');
  t.is(service({ metadata: { generateName: 'web-7d9f8b6c5-', labels: { 'pod-template-hash': '7d9f8b6c5' } }, spec }), 'web');
  t.is(service({ metadata: { generateName: 'nightly-' }, spec }), 'nightly');
  t.is(service({ metadata: { name: 'db-0', labels: { 'statefulset.kubernetes.io/pod-name': 'db-0' } }, spec }), 'db');
  t.is(service({ metadata: { name: 'standalone' }, spec }), 'standalone');
  t.is(service({ spec }, 'from-workload'), 'from-workload');
  throwsAnnotation(t, () => injectPod({ metadata: { labels: { app: 'My_App' } }, spec }, config(), { namespaceOptIn: true }), 'outrigger.io/service', /not a DNS label/);
});

test('app port: annotation, else the first containerPort; neither is refused naming outrigger.io/app-port', (t) => {
  const port = (p: unknown): number => {
    const r = injectPod(p, config(), { namespaceOptIn: true });
    return r.injected ? r.sidecar.appPort : 0;
  };
  t.is(port(pod({ 'outrigger.io/app-port': '9090' })), 9090);
  t.is(port(pod()), 8080);
  throwsAnnotation(t, () => injectPod({ metadata: { name: 'worker' }, spec: { containers: [{ name: 'w' }] } }, config(), { namespaceOptIn: true }), 'outrigger.io/app-port', /declares no containerPort/);
});

test('registry namespace: <namespace>.<namespace_suffix>, or $(POD_NAMESPACE) when the namespace is not known', (t) => {
  const ns = (cfg: InjectorConfig, namespace?: string): string => {
    const r = injectPod({ metadata: { name: 'a' }, spec: { containers: [{ name: 'a', ports: [{ containerPort: 1 }] }] } }, cfg, { namespaceOptIn: true, ...(namespace !== undefined ? { namespace } : {}) });
    return r.injected ? r.sidecar.namespace : '';
  };
  t.is(ns(config(), 'shop'), 'shop.svc.cluster.local');
  t.is(ns(config({ namespace_suffix: 'mesh.local' }), 'shop'), 'shop.mesh.local');
  t.is(ns(config()), '$(POD_NAMESPACE).svc.cluster.local');
});

test('health check, upstreams and lb policy annotations become sidecar config', (t) => {
  const p = pod({
    'outrigger.io/inject': 'true',
    'outrigger.io/protocol': 'grpc',
    'outrigger.io/health-check-type': 'http',
    'outrigger.io/health-check-path': '/healthz',
    'outrigger.io/health-check-port': '8081',
    'outrigger.io/upstreams': 'worker.secure-api.local:9001, billing',
    'outrigger.io/lb-policy': 'least_request',
  });
  const r = injectPod(p, config(), { namespace: 'shop', namespaceOptIn: false });
  const env = envOf(applied(p, r).spec.initContainers?.[0]);
  t.is(env.OUTRIGGER_APP__PROTOCOL, 'grpc');
  t.deepEqual(JSON.parse(env.OUTRIGGER_HEALTH_CHECK ?? ''), { type: 'http', path: '/healthz', port: 8081 });
  t.deepEqual(JSON.parse(env.OUTRIGGER_UPSTREAMS ?? ''), [
    { service: 'worker.secure-api.local', local_port: 9001, lb_policy: 'least_request' },
    { service: 'billing', lb_policy: 'least_request' },
  ]);
  const types = (a: Record<string, string>): unknown => {
    const res = injectPod(pod({ 'outrigger.io/inject': 'true', ...a }), config(), { namespaceOptIn: false });
    return res.injected ? res.sidecar.healthCheck : undefined;
  };
  t.deepEqual(types({ 'outrigger.io/health-check-type': 'tcp' }), { type: 'tcp' });
  t.deepEqual(types({ 'outrigger.io/health-check-type': 'grpc', 'outrigger.io/health-check-port': '9000' }), { type: 'grpc', port: 9000 });
  t.deepEqual(types({ 'outrigger.io/health-check-type': 'exec', 'outrigger.io/health-check-command': '/bin/check --fast' }), { type: 'exec', command: ['/bin/check', '--fast'] });
  t.deepEqual(types({ 'outrigger.io/health-check-type': 'ttl' }), { type: 'ttl', ttl: '30s' });
  t.deepEqual(types({ 'outrigger.io/health-check-type': 'ttl', 'outrigger.io/health-check-ttl': '1m' }), { type: 'ttl', ttl: '1m' });
});

test('the env the injector writes is what the sidecar reads: its own config loader accepts it', (t) => {
  const p = pod({
    'outrigger.io/inject': 'true',
    'outrigger.io/health-check-type': 'http',
    'outrigger.io/health-check-path': '/healthz',
    'outrigger.io/upstreams': 'worker.secure-api.local:9001,billing',
    'outrigger.io/lb-policy': 'peak_ewma',
  });
  const sidecar = applied(p, injectPod(p, config({ hubs: ['hub-0.hub:15010', 'hub-1.hub:15010'] }), { namespace: 'shop', namespaceOptIn: false })).spec.initContainers?.[0];
  const env: NodeJS.ProcessEnv = { POD_UID: 'uid-1', POD_NAME: 'web-0', POD_NAMESPACE: 'shop', POD_IP: '10.1.2.3', NODE_NAME: 'node-a' };
  for (const e of sidecar?.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  const { config: parsed } = loadConfig(sidecarConfigSchema, { args: [], env });
  const resolved = resolveSidecarConfig(parsed, env);
  t.is(resolved.service, 'web');
  t.is(resolved.namespace, 'shop.svc.cluster.local');
  t.is(resolved.instance_id, 'uid-1');
  t.is(resolved.advertise_address, '10.1.2.3');
  t.deepEqual(resolved.app, { address: '127.0.0.1', port: 8080, protocol: 'http' });
  t.deepEqual(resolved.hubs, ['hub-0.hub:15010', 'hub-1.hub:15010']);
  t.like(resolved.health_check, { type: 'http', path: '/healthz' });
  t.deepEqual(resolved.upstreams, [
    { service: 'worker.secure-api.local', local_port: 9001, lb_policy: 'peak_ewma' },
    { service: 'billing', lb_policy: 'peak_ewma' },
  ]);
  t.is(resolved.admin_port, 15000);
  t.is(resolved.outbound_port, 15001);
  t.is(resolved.hub_token_file, '/var/run/secrets/outrigger/token', 'the sidecar presents the projected token');
});

test('the token volume is a projected ServiceAccount token for the audience outrigger, mounted only into the sidecar', (t) => {
  const p = pod({ 'outrigger.io/inject': 'true' }, { volumes: [{ name: 'data' }], containers: [{ name: 'web', ports: [{ containerPort: 8080 }], volumeMounts: [{ name: 'data', mountPath: '/data' }] }] });
  const out = applied(p, injectPod(p, config(), { namespace: 'shop', namespaceOptIn: false }));
  t.deepEqual(out.spec.volumes, [
    { name: 'data' },
    { name: 'outrigger-tmp', emptyDir: { sizeLimit: '16Mi' } },
    { name: 'outrigger-token', projected: { sources: [{ serviceAccountToken: { audience: 'outrigger', expirationSeconds: 3600, path: 'token' } }] } },
  ]);
  t.deepEqual(out.spec.initContainers?.[0]?.volumeMounts, [
    { name: 'outrigger-tmp', mountPath: '/tmp' },
    { name: 'outrigger-token', mountPath: '/var/run/secrets/outrigger', readOnly: true },
  ]);
  t.deepEqual(out.spec.containers[0]?.volumeMounts, [{ name: 'data', mountPath: '/data' }], 'the app cannot read the token');
});

test('a warning when the pod\'s ServiceAccount is not named like the service its sidecar registers', (t) => {
  const warnings = (spec: Record<string, unknown>, namespace?: string): string[] => {
    const r = injectPod(pod({ 'outrigger.io/inject': 'true' }, spec), config(), { namespaceOptIn: false, ...(namespace !== undefined ? { namespace } : {}) });
    return r.injected ? r.warnings : ['not injected'];
  };
  t.deepEqual(warnings({ serviceAccountName: 'web' }), []);
  t.deepEqual(warnings({ serviceAccount: 'web' }), [], 'the deprecated field counts too');
  const [byDefault] = warnings({}, 'shop');
  t.regex(byDefault ?? '', /^ServiceAccount "default" is not "web", the service the sidecar registers; .*set serviceAccountName: web, or bind system:serviceaccount:shop:default in the hub's auth\.bindings$/);
  t.regex(warnings({ serviceAccountName: 'frontend' }, 'shop')[0] ?? '', /ServiceAccount "frontend" is not "web".*system:serviceaccount:shop:frontend/);
  const noNamespace = injectPod({ metadata: { name: 'web-0', labels: { app: 'web' } }, spec: pod().spec }, config(), { namespaceOptIn: true });
  t.regex(noNamespace.injected ? (noNamespace.warnings[0] ?? '') : '', /system:serviceaccount:<namespace>:default/);
});

test('every invalid annotation is refused with its name and what it allows', (t) => {
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ 'outrigger.io/inject': 'yes' }, 'outrigger.io/inject', /must be "true" or "false", got "yes"/],
    [{ 'outrigger.io/service': 'Web_App' }, 'outrigger.io/service', /must be a DNS label/],
    [{ 'outrigger.io/app-port': '70000' }, 'outrigger.io/app-port', /from 1 to 65535, got "70000"/],
    [{ 'outrigger.io/app-port': 'http' }, 'outrigger.io/app-port', /from 1 to 65535/],
    [{ 'outrigger.io/protocol': 'udp' }, 'outrigger.io/protocol', /one of http, http2, grpc, tcp, got "udp"/],
    [{ 'outrigger.io/health-check-type': 'ping' }, 'outrigger.io/health-check-type', /one of http, tcp, grpc, exec, ttl, got "ping"/],
    [{ 'outrigger.io/health-check-path': '/x' }, 'outrigger.io/health-check-path', /needs outrigger\.io\/health-check-type/],
    [{ 'outrigger.io/health-check-type': 'tcp', 'outrigger.io/health-check-path': '/x' }, 'outrigger.io/health-check-path', /only when .* is http, not tcp/],
    [{ 'outrigger.io/health-check-type': 'http', 'outrigger.io/health-check-path': 'healthz' }, 'outrigger.io/health-check-path', /must start with "\/"/],
    [{ 'outrigger.io/health-check-type': 'http', 'outrigger.io/health-check-port': '0' }, 'outrigger.io/health-check-port', /from 1 to 65535/],
    [{ 'outrigger.io/health-check-type': 'exec' }, 'outrigger.io/health-check-command', /is required when/],
    [{ 'outrigger.io/health-check-type': 'ttl', 'outrigger.io/health-check-ttl': 'soon' }, 'outrigger.io/health-check-ttl', /duration/],
    [{ 'outrigger.io/upstreams': 'worker:notaport' }, 'outrigger.io/upstreams', /comma-separated list/],
    [{ 'outrigger.io/upstreams': 'worker,,billing' }, 'outrigger.io/upstreams', /comma-separated list/],
    [{ 'outrigger.io/upstreams': 'Worker.Shop' }, 'outrigger.io/upstreams', /DNS labels/],
    [{ 'outrigger.io/upstreams': 'worker:0' }, 'outrigger.io/upstreams', /local port .* from 1 to 65535/],
    [{ 'outrigger.io/upstreams': 'a:9001,b:9001' }, 'outrigger.io/upstreams', /local port 9001 twice/],
    [{ 'outrigger.io/upstreams': 'a,a' }, 'outrigger.io/upstreams', /"a" twice/],
    [{ 'outrigger.io/upstreams': 'billing', 'outrigger.io/lb-policy': 'fastest' }, 'outrigger.io/lb-policy', /one of round_robin, weighted, least_request/],
    [{ 'outrigger.io/lb-policy': 'random' }, 'outrigger.io/lb-policy', /set .*outrigger\.io\/upstreams/],
    [{ 'outrigger.io/native-sidecar': 'no' }, 'outrigger.io/native-sidecar', /"true" or "false"/],
    [{ 'outrigger.io/proxy-env': '1' }, 'outrigger.io/proxy-env', /"true" or "false"/],
  ];
  for (const [annotations, name, allowed] of cases) {
    throwsAnnotation(t, () => injectPod(pod({ 'outrigger.io/inject': 'true', ...annotations }), config(), { namespaceOptIn: true }), name, allowed);
  }
  // YAML turns an unquoted true or 8080 into a boolean or number, which Kubernetes refuses.
  throwsAnnotation(t, () => injectPod({ ...pod(), metadata: { annotations: { 'outrigger.io/inject': true } } }, config(), { namespaceOptIn: true }), 'outrigger.io/inject', /must be a string \(quote the value in YAML/);
});

test('an annotation that is a list or mapping is refused naming it, whatever it holds (found by fuzzing: a 500 before)', (t) => {
  // String() of [{"toString": null}] throws; the message must not depend on it.
  for (const value of [[{ toString: null }], { toString: null }, [], { a: [1] }]) {
    throwsAnnotation(t, () => injectPod(pod({ 'outrigger.io/inject': 'true', 'outrigger.io/service': value as unknown as string }), config(), { namespaceOptIn: true }), 'outrigger.io/service', /^annotation outrigger\.io\/service: must be a string, got [[{]/);
  }
});

test('a volume or env entry that is not a mapping is refused naming it (found by fuzzing: a 500 before)', (t) => {
  const cases: Array<[Partial<Pod['spec']> | Record<string, unknown>, string]> = [
    [{ volumes: [null] }, 'spec.volumes[0]'],
    [{ volumes: [{ name: 'data' }, 'tmp'] }, 'spec.volumes[1]'],
    [{ containers: [{ name: 'web', env: [null], ports: [{ containerPort: 8080 }] }] }, 'spec.containers[0].env[0]'],
    [{ initContainers: [{ name: 'init', env: [{ name: 'A' }, 7] }] }, 'spec.initContainers[0].env[1]'],
  ];
  for (const [spec, field] of cases) {
    const err = t.throws(() => injectPod(pod({ 'outrigger.io/inject': 'true' }, spec as Partial<Pod['spec']>), config({ proxy_env: true }), { namespaceOptIn: true }), { instanceOf: OutriggerError });
    t.is(err?.code, 'invalid_argument');
    t.is(err?.field, field);
    t.regex(err?.message ?? '', /must be an? (volume|environment variable) \(a mapping with a name\)$/);
  }
});

test('empty keys (null in JSON, as YAML reads `env:` with nothing after it) count as absent', (t) => {
  const p = { metadata: { name: 'p', annotations: null }, spec: { initContainers: null, volumes: null, containers: [{ name: 'a', env: null, ports: [{ containerPort: 80 }] }] } };
  const result = injectPod(p, config({ proxy_env: true }), { namespaceOptIn: true });
  t.deepEqual(
    result.patch.map((o) => o.path),
    ['/metadata/annotations', '/spec/volumes', '/spec/containers/0/env', '/spec/initContainers'],
  );
  const doc = YAML.parseDocument('kind: Pod\nmetadata:\n  name: p\n  annotations:\nspec:\n  initContainers:\n  volumes:\n  containers:\n    - name: a\n      env:\n      ports: [{containerPort: 80}]\n');
  applyPatchToYaml(doc, [], result.patch);
  const out = doc.toJS() as Pod;
  t.is(out.spec.initContainers?.[0]?.name, 'outrigger-sidecar');
  t.is(envOf(out.spec.containers[0]).HTTP_PROXY, 'http://127.0.0.1:15001');
  t.is(out.metadata.annotations?.['outrigger.io/status'], 'injected');
});

test('a pod without containers is refused naming the field', (t) => {
  const err = t.throws(() => injectPod({ metadata: {}, spec: { containers: [] } }, config(), { namespaceOptIn: true }), { instanceOf: OutriggerError });
  t.is(err?.field, 'spec.containers');
  t.throws(() => injectPod({ metadata: {} }, config(), { namespaceOptIn: true }), { message: /spec: must be a pod spec/ });
});

test('the patch applied to YAML gives the same pod as the patch applied to JSON', (t) => {
  const p = pod({ 'outrigger.io/inject': 'true', 'outrigger.io/proxy-env': 'true', 'outrigger.io/native-sidecar': 'false' }, { initContainers: [{ name: 'migrate' }] });
  const result = injectPod(p, config(), { namespace: 'shop', namespaceOptIn: false });
  const doc = YAML.parseDocument(YAML.stringify(p));
  applyPatchToYaml(doc, [], result.patch);
  t.deepEqual(doc.toJS(), applied(p, result));
});

test('injector config: working defaults, and bad values say what is allowed', (t) => {
  const c = config();
  t.like(c, { bind: '0.0.0.0', port: 9443, tls_cert_file: '', tls_key_file: '', image: 'outrigger:0.1.0', image_pull_policy: 'IfNotPresent', native_sidecar: true, proxy_env: false, namespace_suffix: 'svc.cluster.local', log_level: 'info' });
  t.deepEqual(c.hubs, ['outrigger-hub.outrigger.svc:15010']);
  t.deepEqual(c.resources, { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } });
  t.throws(() => config({ image_pull_policy: 'Sometimes' }), { message: /image_pull_policy: must be one of Always, IfNotPresent, Never/ });
  t.throws(() => config({ resources: { requests: { cpu: 'lots' } } }), { message: /resources\.requests\.cpu: must be a Kubernetes quantity/ });
  t.throws(() => config({ hubs: ['hub'] }), { message: /hubs\[0\]: must be host:port/ });
  t.throws(() => config({ tls_cert_file: '/etc/tls/tls.crt' }), { message: /tls_key_file: must be set too/ });
  t.throws(() => config({ namespace_suffix: 'Svc' }), { message: /namespace_suffix: must be a DNS name/ });
  t.throws(() => config({ namespace_suffix: '' }), { message: /namespace_suffix: must be a DNS name/ });
  t.throws(() => config({ imagee: 'x' }), { message: /imagee: unknown key/ });
  const fromEnv = loadConfig(injectorConfigSchema, { args: ['--native-sidecar', 'false'], env: { OUTRIGGER_HUBS: '["a:1","b:2"]', OUTRIGGER_RESOURCES__LIMITS__CPU: '500m' } }).config;
  t.false(fromEnv.native_sidecar);
  t.deepEqual(fromEnv.hubs, ['a:1', 'b:2']);
  t.is(fromEnv.resources.limits.cpu, '500m');
});

test('outrigger.io/dns makes the sidecar the pod resolver: dnsConfig, the port-53 sysctl, and the sidecar config it reads', (t) => {
  const p = pod({ 'outrigger.io/inject': 'true', 'outrigger.io/dns': 'true', 'outrigger.io/dns-upstream': '10.96.0.10' }, { securityContext: { runAsUser: 1000 } });
  const out = applied(p, injectPod(p, config(), { namespace: 'shop', namespaceOptIn: false }));
  t.is(out.spec.dnsPolicy, 'None');
  t.deepEqual(out.spec.dnsConfig, { nameservers: ['127.0.0.1'], searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: [{ name: 'ndots', value: '5' }] });
  t.deepEqual(out.spec.securityContext, { runAsUser: 1000, sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '53' }] });
  const sidecar = out.spec.initContainers?.[0];
  const env: NodeJS.ProcessEnv = { POD_NAMESPACE: 'shop' };
  for (const e of sidecar?.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  const { config: parsed } = loadConfig(sidecarConfigSchema, { args: [], env });
  t.like(parsed.dns, { listen: '127.0.0.1:53', upstream: '10.96.0.10:53' });
  // The injector's dns_upstream serves pods that do not name one.
  const q = pod({ 'outrigger.io/inject': 'true', 'outrigger.io/dns': 'true' });
  const viaConfig = applied(q, injectPod(q, config({ dns_upstream: '[fd00::a]:5353' }), { namespace: 'shop', namespaceOptIn: false }));
  t.is(envOf(viaConfig.spec.initContainers?.[0]).OUTRIGGER_DNS__UPSTREAM, '[fd00::a]:5353');
  t.is(applied(pod({ 'outrigger.io/inject': 'true' }), injectPod(pod({ 'outrigger.io/inject': 'true' }), config(), { namespace: 'shop', namespaceOptIn: false })).spec.dnsConfig, undefined, 'only when asked');
});

test('bad DNS annotations and config are refused naming them', (t) => {
  const inject = (annotations: Record<string, string>, extra: Partial<Pod['spec']> = {}, over: Record<string, unknown> = {}) => () =>
    injectPod(pod({ 'outrigger.io/inject': 'true', ...annotations }, extra), config(over), { namespace: 'shop', namespaceOptIn: false });
  throwsAnnotation(t, inject({ 'outrigger.io/dns': 'yes' }), 'outrigger.io/dns', /"true" or "false"/);
  throwsAnnotation(t, inject({ 'outrigger.io/dns': 'true' }), 'outrigger.io/dns-upstream', /cluster's DNS Service/);
  throwsAnnotation(t, inject({ 'outrigger.io/dns': 'true', 'outrigger.io/dns-upstream': 'kube-dns' }), 'outrigger.io/dns-upstream', /IP address/);
  throwsAnnotation(t, inject({ 'outrigger.io/dns-upstream': '10.96.0.10' }), 'outrigger.io/dns-upstream', /only with outrigger.io\/dns/);
  throwsAnnotation(t, inject({ 'outrigger.io/dns': 'true', 'outrigger.io/dns-upstream': '10.96.0.10' }, { dnsConfig: { nameservers: ['1.1.1.1'] } }), 'outrigger.io/dns', /spec.dnsConfig/);
  const err = t.throws(() => config({ dns_upstream: 'kube-dns' }), { instanceOf: OutriggerError });
  t.is(err?.field, 'dns_upstream');
});
