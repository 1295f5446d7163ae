// Data-quality findings per month: shown next to the figures, never averaged into them.
import { windowSeconds } from '../alerts/src/capacity-promql.js';
import type { AlertsConfig } from '../alerts/src/config.js';
import { hours } from './format.js';
import type { LinkMonth } from './model.js';

export function dataQualityFlags(months: readonly LinkMonth[], config: AlertsConfig): string[] {
  const hoursPerWindow = windowSeconds(config).window / 3600;
  const flags: string[] = [];
  for (const m of months) {
    const f = m.figures;
    const at = (text: string) => flags.push(`${m.month}: ${text}`);
    if (f.windows_used === undefined) {
      at('no data: no window of the month counts');
      continue;
    }
    const excluded = f.windows_excluded ?? 0;
    if (excluded > 0) {
      const busyMissing = Math.max(0, m.busyWindowsExpected - (f.busy_windows_used ?? 0));
      at(
        `${Math.round(excluded)} of ${Math.round(excluded + f.windows_used)} windows excluded (${hours(excluded * hoursPerWindow)} h, ` +
          `${hours(busyMissing * hoursPerWindow)} h of them in busy hours): missing samples or failed SNMP polls`,
      );
    }
    const counted = (key: string, what: string, why: string) => {
      const n = Math.round(f[key] ?? 0);
      if (n > 0) at(`${n} ${what}${n === 1 ? '' : 's'} (${why})`);
    };
    counted('counter_resets', 'counter reset', 'agent restart; Prometheus counts on from zero');
    counted('rebaselined_polls', 're-baselined SNMP poll', 'device restart or counter discontinuity; that interval is not counted');
    counted('snmp_failed_polls', 'failed SNMP poll', 'the windows around each are excluded');
    for (const [site, figures] of Object.entries(m.sites).sort(([a], [b]) => a.localeCompare(b))) {
      const down = figures.agent_down_hours ?? 0;
      if (down >= hoursPerWindow) at(`agent of site ${site} not scraped for ${hours(down)} h`);
    }
  }
  return flags;
}
