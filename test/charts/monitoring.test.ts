/**
 * The chart's alerts and dashboards: promtool checks the rules and runs their unit tests, and
 * every metric they and the dashboards query is one a live hub or sidecar serves.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import YAML from 'yaml';
import { PACKAGE_ROOT } from '../../src/common/paths.js';
import { sampleCalls } from '../../src/demo/sample-calls.js';
import { startDemoMesh } from '../helpers/demo-mesh.js';
import { promtool } from '../helpers/promtool.js';

const CHART = path.join(PACKAGE_ROOT, 'charts', 'outrigger');
const RULES = path.join(CHART, 'rules', 'outrigger-alerts.yaml');
const RULE_TESTS = path.join(CHART, 'rules', 'outrigger-alerts.test.yaml');

interface Dashboard {
  uid: string;
  title: string;
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
}
const dashboards = readdirSync(path.join(CHART, 'dashboards')).map((f) => JSON.parse(readFileSync(path.join(CHART, 'dashboards', f), 'utf8')) as Dashboard);
const rules = (YAML.parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules);

test('promtool check rules accepts the alert rules', async (t) => {
  const r = await promtool(['check', 'rules', RULES]);
  t.is(r.code, 0, r.output);
  t.regex(r.output, /SUCCESS: 6 rules found/);
});

test('promtool test rules passes the alerts\' unit tests', async (t) => {
  const r = await promtool(['test', 'rules', RULE_TESTS]);
  t.is(r.code, 0, r.output);
  t.regex(r.output, /SUCCESS/);
});

test('the alerts the chart promises are there', (t) => {
  t.deepEqual(rules.map((r) => r.alert).sort(), [
    'OutriggerPushLatencyHigh',
    'OutriggerSelfPreservation',
    'OutriggerServiceWithoutHealthyEndpoints',
    'OutriggerSidecarConfigStale',
    'OutriggerStaleSubscribers',
    'OutriggerXdsNacks',
  ]);
  t.deepEqual(dashboards.map((d) => d.uid).sort(), ['outrigger-hub', 'outrigger-mesh']);
  for (const d of dashboards) for (const p of d.panels) t.true(p.targets.length > 0 && p.targets.every((x) => x.expr.includes('outrigger_')), `${d.title}: ${p.title}`);
});

test('every metric the alerts and dashboards query is served by a live hub or sidecar', async (t) => {
  const demo = await startDemoMesh();
  t.teardown(() => demo.stop());
  await sampleCalls(demo.web.admin.outboundPort, 'echo.demo.local', 2);
  const hub = await (await fetch(`${demo.addresses.http}/metrics`, { headers: { authorization: `Bearer ${demo.adminToken!}` } })).text();
  const sidecar = await (await fetch(`${demo.web.admin.admin}/metrics`)).text();
  const served = new Set([...`${hub}\n${sidecar}`.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!])));
  const queried = new Set([...rules.map((r) => r.expr), ...dashboards.flatMap((d) => d.panels.flatMap((p) => p.targets.map((x) => x.expr)))].flatMap((e) => [...e.matchAll(/\boutrigger_[a-z0-9_]+/g)].map((m) => m[0])));
  t.true(queried.size > 15, [...queried].join(' '));
  t.deepEqual([...queried].filter((m) => !served.has(m)), []);
});
