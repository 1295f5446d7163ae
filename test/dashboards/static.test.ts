// Static checks of the committed dashboards: every PromQL expression parses, every metric is in the
// contract (docs/metrics.md) or is a recording rule (alerts/generated), every link and uid resolves,
// and every panel has a description, a unit and thresholds.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { alertsConfig } from '../../alerts/src/config.js';
import { REPO_ROOT } from '../support/linkmon-process.js';
import {
  allLinks,
  dataPanels,
  loadGeneratedDashboards,
  panelQueries,
  parsePromql,
  substituteVariables,
  variableExpressions,
  type DashboardJson,
} from './dashboard-queries.js';

/** Any syntactically valid value will do for the parser; these resemble what Grafana sends. */
const TEMPLATE_VALUES: Record<string, string> = {
  datasource: 'linkmon-prometheus',
  job: '(linkmon|linkmon-lab)',
  instance: '.+',
  site: 'esb',
  target: 'dc-core|caid-portal',
  link: 'hsl',
  __rate_interval: '1m',
  __interval: '15s',
  __range: '6h',
  __range_s: '21600',
};

/** Series Prometheus itself creates, which no exporter documents. */
const PROMETHEUS_BUILTINS = new Set(['ALERTS', 'up']);

const dashboards = loadGeneratedDashboards();

/** Names in the first column of the docs/metrics.md tables headed `| metric |` (not the label tables). */
function documentedMetrics(): { exact: Set<string>; prefixes: string[] } {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  let inMetricTable = false;
  for (const line of readFileSync(join(REPO_ROOT, 'docs/metrics.md'), 'utf8').split('\n')) {
    if (!line.startsWith('|')) {
      inMetricTable = false;
      continue;
    }
    if (/^\| metric \|/.test(line)) inMetricTable = true;
    const cell = /^\| (`[^|]+`) \|/.exec(line)?.[1];
    if (!inMetricTable || !cell) continue;
    for (const [, name] of cell.matchAll(/`([a-zA-Z_:][a-zA-Z0-9_:*]*)`/g)) {
      if (name!.endsWith('*')) prefixes.push(name!.slice(0, -1));
      else exact.add(name!);
    }
  }
  return { exact, prefixes };
}

function recordingRules(): Set<string> {
  const dir = join(REPO_ROOT, 'alerts', 'generated');
  const names = new Set<string>();
  if (!existsSync(dir)) return names;
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    const doc = parseYaml(readFileSync(join(dir, file), 'utf8')) as { groups?: { rules?: { record?: string }[] }[] } | null;
    for (const group of doc?.groups ?? []) for (const rule of group.rules ?? []) if (rule.record) names.add(rule.record);
  }
  return names;
}

function isKnownMetric(name: string, documented: ReturnType<typeof documentedMetrics>, rules: Set<string>): boolean {
  if (PROMETHEUS_BUILTINS.has(name) || rules.has(name) || documented.exact.has(name)) return true;
  // Histograms are documented by their base name.
  const base = name.replace(/_(bucket|sum|count)$/, '');
  if (base !== name && documented.exact.has(base)) return true;
  return documented.prefixes.some((prefix) => name.startsWith(prefix));
}

function allExpressions(dashboard: DashboardJson): { expr: string; where: string }[] {
  return [...panelQueries(dashboard), ...variableExpressions(dashboard)];
}

describe('dashboard PromQL', () => {
  it('finds queries in every dashboard', () => {
    expect(dashboards.map((d) => d.uid).sort()).toEqual(['linkmon-capacity', 'linkmon-overview', 'linkmon-site-detail']);
    for (const dashboard of dashboards) expect(panelQueries(dashboard).length, dashboard.uid).toBeGreaterThan(0);
  });

  it('every expression parses without error nodes after substituting the template variables', () => {
    const problems: string[] = [];
    for (const dashboard of dashboards) {
      for (const { expr, where } of allExpressions(dashboard)) {
        const { errors } = parsePromql(substituteVariables(expr, TEMPLATE_VALUES));
        if (errors.length > 0) problems.push(`${where}: ${expr}\n  near: ${errors.map((e) => e.text).join(' | ')}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the checks are real: a broken expression is reported, label tables are not metrics', () => {
    expect(parsePromql('sum by (site) (rate(linkmon_probe_attempts_total[5m])').errors).not.toEqual([]);
    const documented = documentedMetrics();
    expect(isKnownMetric('linkmon_probe_duration_seconds_bucket', documented, new Set())).toBe(true);
    expect(isKnownMetric('target', documented, new Set())).toBe(false);
    expect(isKnownMetric('linkmon_no_such_metric', documented, new Set())).toBe(false);
  });

  it('every metric is in docs/metrics.md or produced by a recording rule in alerts/generated', () => {
    const documented = documentedMetrics();
    const rules = recordingRules();
    const unknown: string[] = [];
    for (const dashboard of dashboards) {
      for (const { expr, where } of allExpressions(dashboard)) {
        for (const metric of parsePromql(substituteVariables(expr, TEMPLATE_VALUES)).metrics) {
          if (!isKnownMetric(metric, documented, rules)) unknown.push(`${where}: ${metric}`);
        }
      }
    }
    expect(unknown).toEqual([]);
  });

  it('range windows use $__rate_interval or a fixed window, never $__interval (too short at fine steps)', () => {
    const offenders = dashboards.flatMap((d) => allExpressions(d)).filter(({ expr }) => /\[\$__interval\]|\[\$\{__interval\}\]/.test(expr));
    expect(offenders).toEqual([]);
  });
});

describe('dashboard structure', () => {
  it('has fixed, unique uids and the linkmon tag', () => {
    const uids = dashboards.map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const dashboard of dashboards) {
      expect(dashboard.uid).toMatch(/^linkmon-[a-z-]+$/);
      expect(dashboard.tags).toContain('linkmon');
    }
  });

  it('every panel has a description, a unit and thresholds', () => {
    const missing: string[] = [];
    for (const dashboard of dashboards) {
      for (const panel of dataPanels(dashboard)) {
        const where = `${dashboard.uid} / "${panel.title}"`;
        if (!panel.description?.trim()) missing.push(`${where}: description`);
        if (!panel.fieldConfig?.defaults?.unit) missing.push(`${where}: unit`);
        if (!panel.fieldConfig?.defaults?.thresholds?.steps?.length) missing.push(`${where}: thresholds`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('filters every raw agent series by the $job and $instance variables, which every dashboard has', () => {
    const unfiltered: string[] = [];
    for (const dashboard of dashboards) {
      const variables = (dashboard.templating?.list ?? []).map((v) => v.name);
      expect(variables.slice(0, 3), dashboard.uid).toEqual(['datasource', 'job', 'instance']);
      for (const { expr, where } of allExpressions(dashboard)) {
        // Raw series (recording rules have a colon in their name and already aggregated the agents away).
        for (const [selector] of expr.matchAll(/(?<![:\w])(linkmon_[a-z_]+|up)\b(\{[^}]*\})?/g)) {
          if (where.endsWith('variable job') || where.endsWith('variable instance')) continue;
          if (!selector.includes('{job=~"$job", instance=~"$instance"')) unfiltered.push(`${where}: ${selector}`);
        }
      }
    }
    expect(unfiltered).toEqual([]);
  });

  it('every panel queries the data source chosen in the $datasource variable', () => {
    for (const dashboard of dashboards) {
      expect(dashboard.templating?.list?.find((v) => v.name === 'datasource')?.type, dashboard.uid).toBe('datasource');
      for (const panel of dataPanels(dashboard)) {
        const raw = panel as unknown as { datasource?: { uid?: string }; targets?: { datasource?: { uid?: string } }[] };
        expect(raw.datasource?.uid, `${dashboard.uid} / ${panel.title}`).toBe('${datasource}');
        for (const target of raw.targets ?? []) expect(target.datasource?.uid, `${dashboard.uid} / ${panel.title}`).toBe('${datasource}');
      }
    }
  });

  it('query refIds are unique within each panel (table columns and overrides refer to them)', () => {
    for (const dashboard of dashboards) {
      for (const panel of dataPanels(dashboard)) {
        const refIds = (panel.targets ?? []).map((t) => t.refId);
        expect(refIds.every((id) => typeof id === 'string' && id.length > 0), `${dashboard.uid} / ${panel.title}`).toBe(true);
        expect(new Set(refIds).size, `${dashboard.uid} / ${panel.title}`).toBe(refIds.length);
      }
    }
  });

  it('colours come from the alert config: CAID-side loss is amber at the ticket and red at the page threshold', () => {
    const overview = dashboards.find((d) => d.uid === 'linkmon-overview')!;
    const loss = dataPanels(overview).find((p) => p.title === 'Loss to the CAID side')!;
    const levels = alertsConfig.loss.thresholds[alertsConfig.caidLink] ?? alertsConfig.loss.thresholds.default;
    expect(loss.fieldConfig?.defaults?.thresholds?.steps).toEqual([
      { value: null, color: 'green' },
      { value: levels.long, color: 'orange' },
      { value: levels.short, color: 'red' },
    ]);
  });

  it('panel ids are unique within each dashboard', () => {
    for (const dashboard of dashboards) {
      const ids = (dashboard.panels ?? []).flatMap((p) => [p.id, ...(p.panels ?? []).map((q) => q.id)]);
      expect(new Set(ids).size, dashboard.uid).toBe(ids.length);
    }
  });

  it('every link resolves: /d/<uid> to a generated dashboard, var-<name> to one of its variables, tags to a dashboard', () => {
    const byUid = new Map(dashboards.map((d) => [d.uid, d]));
    const problems: string[] = [];
    let uidLinks = 0;
    for (const dashboard of dashboards) {
      for (const { link, where } of allLinks(dashboard)) {
        // The SDK's default placement would hide the link in Grafana 12.4+'s controls menu.
        if ('placement' in link) problems.push(`${where}: link "${link.title}" has a placement`);
        if (link.type === 'dashboards') {
          if (!dashboards.some((d) => d !== dashboard && (link.tags ?? []).every((t) => d.tags?.includes(t)))) problems.push(`${where}: no dashboard has tags ${link.tags}`);
          continue;
        }
        const match = /^\/d\/([A-Za-z0-9_-]+)(?:\/[^?]*)?(?:\?(.*))?$/.exec(link.url ?? '');
        if (!match) {
          problems.push(`${where}: link "${link.title}" is not a /d/<uid> link: ${link.url}`);
          continue;
        }
        uidLinks++;
        const target = byUid.get(match[1]!);
        if (!target) {
          problems.push(`${where}: link "${link.title}" points at unknown uid ${match[1]}`);
          continue;
        }
        const variables = new Set((target.templating?.list ?? []).map((v) => v.name));
        for (const [, name] of (match[2] ?? '').matchAll(/(?:^|&)var-([A-Za-z0-9_]+)=/g)) {
          if (!variables.has(name!)) problems.push(`${where}: link "${link.title}" sets var-${name}, which ${target.uid} does not have`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(uidLinks).toBeGreaterThan(0);
  });

  it('every site in the overview links to the site detail view', () => {
    const overview = dashboards.find((d) => d.uid === 'linkmon-overview')!;
    const siteLinks = allLinks(overview).filter(({ link }) => link.url?.startsWith('/d/linkmon-site-detail?var-site='));
    const panelsWithSiteLinks = new Set(siteLinks.map((l) => l.where));
    // The status grid, the state timelines and the alert list all link to the site.
    expect(panelsWithSiteLinks.size).toBeGreaterThanOrEqual(3);
  });
});
