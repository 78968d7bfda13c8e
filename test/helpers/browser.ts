/**
 * Debian's chromium driven by playwright-core (no browser download): one browser per test file,
 * a fresh context (its own sessionStorage) per page.
 */
import { execFileSync } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The page's sessionStorage, as functions passed to the page see it (this project compiles without the DOM types). */
declare const sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void };

export async function launchChromium(): Promise<Browser> {
  const executablePath = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  return chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** A page in a context of its own; `token`, when given, is in sessionStorage before the page loads, as after a sign-in. */
export async function openPage(browser: Browser, url: string, token?: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  if (token !== undefined) await context.addInitScript((t) => sessionStorage.setItem('outrigger.token', t), token);
  const page = await context.newPage();
  await page.goto(url);
  return page;
}
