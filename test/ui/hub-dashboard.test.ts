/**
 * The hub dashboard in a real Chromium against the demo mesh: what it lists, that it follows the
 * registry live (no reload), and that its actions are offered and allowed by role.
 */
import test from 'ava';
import type { Browser } from 'playwright-core';
import type { Demo } from '../../src/demo/demo.js';
import { launchChromium, openPage } from '../helpers/browser.js';
import { startDemoMesh } from '../helpers/demo-mesh.js';
import { demoToken } from '../helpers/demo-tokens.js';
import { eventually } from '../helpers/wait.js';

declare const sessionStorage: { getItem(key: string): string | null };

let demo: Demo;
let browser: Browser;
let url: string;

test.before(async () => {
  [demo, browser] = await Promise.all([startDemoMesh(), launchChromium()]);
  url = `${demo.addresses.http}/ui/`;
});

test.after.always(async () => {
  await browser?.close();
  await demo?.stop();
});

async function rest(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${demo.addresses.http}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

const register = (id: string, port: number) =>
  rest('POST', '/api/v1/services', demo.adminToken!, { id, name: 'echo', namespace: 'demo.local', address: '127.0.0.1', port, ttl: 0, zone: 'zone-b', version: 'v2' });

test.serial('asks for a token once, then lists the demo services with their instances', async (t) => {
  const page = await openPage(browser, url);
  await page.fill('#token', demo.adminToken!);
  await page.click('button[type=submit]');
  await page.locator('[data-service="echo.demo.local"]').waitFor();
  for (const id of ['echo-1', 'echo-2', 'echo-3']) t.is(await page.locator(`[data-service="echo.demo.local"] [data-instance="${id}"]`).count(), 1, id);
  t.is(await page.locator('[data-service="web.demo.local"] [data-instance="web-1"] [data-health="HEALTHY"]').count(), 1);
  // Kept for this tab: a reload does not ask again.
  await page.reload();
  await page.locator('[data-service="web.demo.local"]').waitFor();
  t.is(await page.locator('#token').count(), 0);
  await page.context().close();
});

test.serial('an instance registered through REST appears without a reload within 1 s, and its badge follows its health', async (t) => {
  const page = await openPage(browser, url, demo.adminToken);
  await page.locator('[data-status="live"]').waitFor();
  t.is((await register('echo-live', 9101)).status, 201);
  const row = page.locator('[data-instance="echo-live"]');
  await row.locator('[data-health="HEALTHY"]').waitFor({ timeout: 1000 });
  t.is((await rest('PUT', '/api/v1/services/echo-live/health', demo.adminToken!, { health: 'UNHEALTHY' })).status, 200);
  await row.locator('[data-health="UNHEALTHY"]').waitFor({ timeout: 1000 });
  t.is(await row.locator('.badge.bad').innerText(), 'UNHEALTHY');
  await page.context().close();
});

test.serial('a viewer sees no actions, and an action it forges is refused with 403', async (t) => {
  const viewer = await demoToken(demo, 'viewer', ['demo.local']);
  const page = await openPage(browser, url, viewer);
  await page.locator('[data-service="echo.demo.local"] tr[data-instance]').first().waitFor();
  t.is(await page.locator('[data-action]').count(), 0);
  t.is(await page.locator('select').count(), 0);
  t.is(await page.getByRole('button', { name: 'Drain' }).count(), 0);
  // The same call the operator's Drain button makes, sent from the page with the viewer's token.
  const forged = await page.evaluate(async () => {
    const res = await fetch('/api/v1/services/echo-1/health', {
      method: 'PUT',
      headers: { authorization: `Bearer ${sessionStorage.getItem('outrigger.token')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ health: 'DRAINING' }),
    });
    return { status: res.status, body: (await res.json()) as { error: { code: string } } };
  });
  t.is(forged.status, 403);
  t.is(forged.body.error.code, 'permission_denied');
  t.is((await rest('GET', '/api/v1/services/echo-1', demo.adminToken!)).json.data.health, 'HEALTHY');
  await page.context().close();
});

test.serial('an operator drains an instance and the page shows DRAINING; a bad weight is refused inline', async (t) => {
  t.is((await register('echo-drain', 9102)).status, 201);
  const operator = await demoToken(demo, 'operator', ['demo.local']);
  const page = await openPage(browser, url, operator);
  const row = page.locator('[data-instance="echo-drain"]');
  await row.locator('[data-health="HEALTHY"]').waitFor();
  await row.locator('[data-action="drain"]').click();
  await row.locator('[data-health="DRAINING"]').waitFor();
  t.is((await rest('GET', '/api/v1/services/echo-drain', demo.adminToken!)).json.data.health, 'DRAINING');

  // The REST API's validation, shown beside the control; nothing changes.
  await row.locator('input.weight').fill('5000');
  await row.locator('[data-action="weight"]').click();
  const error = row.locator('[role="alert"]');
  await error.waitFor();
  t.regex(await error.innerText(), /weight: must be an integer from 1 to 1000/);
  t.is((await rest('GET', '/api/v1/services/echo-drain', demo.adminToken!)).json.data.weight, 100);
  await row.locator('input.weight').fill('40');
  await row.locator('[data-action="weight"]').click();
  t.is(await eventually('the new weight', async () => ((await rest('GET', '/api/v1/services/echo-drain', demo.adminToken!)).json.data.weight === 40 ? 40 : undefined)), 40);
  // The page's row follows: its Set button is disabled once the weight shown is the one typed.
  await row.locator('[data-action="weight"]:disabled').waitFor();
  t.is(await row.locator('[role="alert"]').count(), 0);
  await page.context().close();
});
