/**
 * The hub dashboard with 1,000 services (two instances each) in Debian's chromium: how big the
 * view is, how long the first render takes, how long a registration takes to show, whether a
 * burst of 200 registrations blocks the page (long tasks), and how quickly the filter answers.
 * Run: `npx tsc -p . && node dist/bench/dashboard-scale.js`. Figures are printed, not asserted.
 */
import { launchChromium, openPage } from '../test/helpers/browser.js';
import { startAuthHub } from '../test/helpers/auth-hub.js';

declare const document: { querySelectorAll(s: string): { length: number }; querySelector(s: string): { value: string; dispatchEvent(e: unknown): void } | null };
declare const performance: { now(): number };
declare const PerformanceObserver: new (cb: (list: { getEntries(): Array<{ duration: number }> }) => void) => { observe(o: unknown): void };
declare const requestAnimationFrame: (cb: () => void) => void;
declare const Event: new (type: string, init: unknown) => unknown;
declare const window: Record<string, unknown>;

const SERVICES = 1000;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const hub = await startAuthHub({}, { logLevel: 'error' });
  const register = (id: string, svc: string) => hub.hub.registry.register({ id, service: svc, namespace: `team-${Number(svc.slice(4)) % 10}.local`, address: '10.0.0.1', port: 8080, ttl: 0 });
  for (let i = 0; i < SERVICES; i++) for (const n of [1, 2]) register(`svc-${i}-${n}`, `svc-${i}`);
  const view = await hub.rest('GET', '/api/v1/dashboard', hub.admin);
  console.log(`view of ${SERVICES} services, ${SERVICES * 2} instances: ${(view.text.length / 1024).toFixed(0)} KiB of JSON`);
  const browser = await launchChromium();
  try {
    const started = Date.now();
    const page = await openPage(browser, `${hub.addresses.http}/ui/`, hub.admin);
    await page.locator('[data-service]').nth(99).waitFor({ timeout: 60_000 });
    console.log(`first render (navigation to 100 services drawn): ${Date.now() - started} ms`);

    const shows: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.fill('input.filter', `new-${i}.`);
      const t0 = Date.now();
      register(`new-${i}-1`, `new-${i}`);
      await page.locator(`[data-instance="new-${i}-1"]`).waitFor({ timeout: 10_000 });
      shows.push(Date.now() - t0);
    }
    console.log(`registration → row on the page: median ${median(shows)} ms (${shows.join(', ')})`);

    await page.fill('input.filter', '');
    await page.locator('[data-service]').nth(99).waitFor();
    await page.evaluate(() => {
      const tasks: number[] = [];
      window.longTasks = tasks;
      new PerformanceObserver((list) => list.getEntries().forEach((e) => tasks.push(e.duration))).observe({ type: 'longtask', buffered: false });
    });
    const t1 = Date.now();
    for (let i = 0; i < 200; i++) register(`burst-${i}`, `svc-${i}`);
    await page.locator('[data-instance="burst-0"]').waitFor({ timeout: 10_000 });
    await page.waitForTimeout(1500);
    const tasks = (await page.evaluate(() => window.longTasks)) as number[];
    console.log(`burst of 200 registrations: first shown after ${Date.now() - t1 - 1500} ms; long tasks over the next 1.5 s: ${tasks.length}, longest ${tasks.length ? Math.max(...tasks).toFixed(0) : 0} ms`);

    const filterMs = await page.evaluate(async () => {
      const input = document.querySelector('input.filter')!;
      const t = performance.now();
      input.value = 'svc-99';
      input.dispatchEvent(new Event('input', { bubbles: true }));
      await new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
      return performance.now() - t;
    });
    console.log(`typing in the filter → list redrawn (two frames): ${filterMs.toFixed(0)} ms; services shown ${await page.locator('[data-service]').count()}`);
  } finally {
    await browser.close();
    await hub.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
