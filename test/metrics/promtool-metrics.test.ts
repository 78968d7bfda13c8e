/**
 * `promtool check metrics` on what a live hub and a live sidecar serve on /metrics, after real
 * traffic, so every family (prom-client's defaults included) has samples to check.
 */
import test from 'ava';
import { sampleCalls } from '../../src/demo/sample-calls.js';
import { startDemoMesh } from '../helpers/demo-mesh.js';
import { promtool } from '../helpers/promtool.js';

test('the hub and the sidecar serve /metrics that promtool check metrics accepts', async (t) => {
  const demo = await startDemoMesh();
  t.teardown(() => demo.stop());
  const answers = await sampleCalls(demo.web.admin.outboundPort, 'echo.demo.local', 3);
  t.true(answers.every((a) => a.startsWith('echo-')), answers.join(', '));

  const hubText = await (await fetch(`${demo.addresses.http}/metrics`, { headers: { authorization: `Bearer ${demo.adminToken!}` } })).text();
  const sidecarText = await (await fetch(`${demo.web.admin.admin}/metrics`)).text();
  // The families the check is about are there, under their conventional names.
  t.regex(hubText, /^outrigger_hub_nodejs_active_handles\{type="/m);
  t.notRegex(hubText, /_active_handles_total/);
  t.regex(hubText, /^outrigger_hub_process_cpu_seconds_total /m);
  t.regex(sidecarText, /^outrigger_sidecar_nodejs_active_handles\{type="/m);
  t.regex(sidecarText, /^outrigger_proxy_requests_total\{/m);
  t.regex(sidecarText, /^outrigger_proxy_request_duration_seconds_bucket\{le="\+Inf",cluster="echo.demo.local"\} 3$/m);

  for (const [name, text] of [['hub', hubText], ['sidecar', sidecarText]] as const) {
    const result = await promtool(['check', 'metrics'], text);
    t.is(result.output.trim(), '', `${name}: ${result.output}`);
    t.is(result.code, 0, name);
  }
});
