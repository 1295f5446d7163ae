// Writes every dashboard to dashboards/generated/<uid>.json (committed; a test fails when
// regenerating changes them). Run: npx tsx dashboards/src/generate.ts
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { capacityDashboard } from './capacity.js';
import { overviewDashboard } from './overview.js';
import { siteDetailDashboard } from './site-detail.js';

export const GENERATED_DIR = fileURLToPath(new URL('../generated/', import.meta.url));

/** All dashboards, in a fixed order. */
export function buildDashboards(): Dashboard[] {
  return [overviewDashboard(), siteDetailDashboard(), capacityDashboard()];
}

/** File name → file content, exactly as committed. */
export function renderDashboards(): Map<string, string> {
  const files = new Map<string, string>();
  for (const built of buildDashboards()) {
    if (!built.uid) throw new Error(`dashboard "${built.title}" has no uid`);
    files.set(`${built.uid}.json`, `${JSON.stringify(built, null, 2)}\n`);
  }
  return files;
}

function main(): void {
  mkdirSync(GENERATED_DIR, { recursive: true });
  const files = renderDashboards();
  // A renamed dashboard must not leave its old file behind for Grafana to keep loading.
  for (const stale of readdirSync(GENERATED_DIR).filter((f) => f.endsWith('.json') && !files.has(f))) rmSync(`${GENERATED_DIR}${stale}`);
  for (const [name, text] of files) writeFileSync(`${GENERATED_DIR}${name}`, text);
  console.log(`wrote ${[...files.keys()].join(', ')} to ${GENERATED_DIR}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
