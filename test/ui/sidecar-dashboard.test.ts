/**
 * The sidecar dashboard in a real Chromium: web's sidecar of the demo mesh, with an echo
 * instance that answers 500 to everything. Calls through the sidecar eject it, and the page
 * shows the ejection and the failed calls among the last requests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { sampleCalls } from '../../src/demo/sample-calls.js';
import { launchChromium, openPage } from '../helpers/browser.js';
import { startDemoMesh } from '../helpers/demo-mesh.js';
import { eventually } from '../helpers/wait.js';

test('the sidecar page shows an endpoint ejected after it answered 5xx, and the failed calls', async (t) => {
  const [demo, browser] = await Promise.all([startDemoMesh(), launchChromium()]);
  const failing = http.createServer((_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('boom\n'));
  await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    await browser.close();
    await demo.stop();
    failing.close();
  });
  // In web's zone and region, so web's sidecar sends it its share of the calls.
  const registered = await fetch(`${demo.addresses.http}/api/v1/services`, {
    method: 'POST',
    headers: { authorization: `Bearer ${demo.adminToken!}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'echo-bad', name: 'echo', namespace: 'demo.local', address: '127.0.0.1', port: (failing.address() as AddressInfo).port, ttl: 0, zone: 'zone-a', region: 'local' }),
  });
  t.is(registered.status, 201);
  const page = await openPage(browser, `${demo.web.admin.admin}/ui/`);
  const badRow = page.locator('[data-cluster="echo.demo.local"] tr[data-endpoint="echo-bad"]');
  await badRow.waitFor();
  t.is(await badRow.getAttribute('data-outlier'), 'active');

  // Five consecutive 5xx eject it (the default consecutive_5xx).
  const answers = await eventually('echo-bad ejected', async () => {
    const got = await sampleCalls(demo.web.admin.outboundPort, 'echo.demo.local', 6);
    return page.locator('tr[data-endpoint="echo-bad"][data-outlier="ejected"]').count().then((n) => (n === 1 ? got : undefined));
  }, 20_000, 100);
  t.true(answers.length > 0);
  t.regex(await badRow.innerText(), /ejected[\s\S]*readmitted in \d+ s · consecutive_5xx/);
  t.regex(await badRow.innerText(), /0%/);
  const failed = page.locator('[data-cluster="echo.demo.local"] tr[data-request]', { hasText: 'echo-bad' });
  t.true((await failed.count()) >= 5);
  t.regex(await failed.first().innerText(), /GET\s+echo\.demo\.local\s+\/hello\s+500\s+echo-bad/);
});
