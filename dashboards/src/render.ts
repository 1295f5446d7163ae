import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { capacityDashboard } from './capacity.js';
import { overviewDashboard } from './overview.js';
import { siteDetailDashboard } from './site-detail.js';

/** All dashboards, in a fixed order, built from the mixin config (mixin-config.ts). */
export function buildDashboards(): Dashboard[] {
  return [overviewDashboard(), siteDetailDashboard(), capacityDashboard()];
}

/** File name (`<uid>.json`) → file content, exactly as committed. */
export function renderDashboards(): Map<string, string> {
  const files = new Map<string, string>();
  for (const built of buildDashboards()) {
    if (!built.uid) throw new Error(`dashboard "${built.title}" has no uid`);
    files.set(`${built.uid}.json`, `${JSON.stringify(built, null, 2)}\n`);
  }
  return files;
}
