/**
 * The dashboards' files: the pages, scripts and styles in `src/ui/` (plain ES modules, no build
 * step), and preact, preact/hooks and htm as the ES modules their npm packages ship, served from
 * node_modules under `vendor/` and found by the page's import map.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../common/paths.js';
import { StaticFiles } from './static-files.js';

const UI_DIR = path.join(PACKAGE_ROOT, 'src', 'ui');
const SHARED = ['dashboard.css', 'api.js', 'widgets.js'];
const SCRIPTS = { hub: ['hub-app.js', 'hub-services.js', 'hub-subscribers.js'], sidecar: ['sidecar-app.js'] } as const;

const resolveModule = (specifier: string): string => fileURLToPath(import.meta.resolve(specifier));

/** The files of one dashboard: its page is served at `/ui/`, the rest by name under it. */
export function dashboardFiles(page: 'hub' | 'sidecar'): StaticFiles {
  const files = new Map<string, string>([
    ['', path.join(UI_DIR, `${page}.html`)],
    ...[...SHARED, ...SCRIPTS[page]].map((f) => [f, path.join(UI_DIR, f)] as [string, string]),
    ['vendor/preact.mjs', resolveModule('preact')],
    ['vendor/hooks.mjs', resolveModule('preact/hooks')],
    ['vendor/htm.mjs', resolveModule('htm')],
  ]);
  return new StaticFiles(files);
}
