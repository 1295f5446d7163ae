// Reads the committed dashboard JSON and pulls out what the tests check: every PromQL expression
// (panel targets and variable queries), every link, and the metric names a query uses.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { REPO_ROOT } from '../support/linkmon-process.js';

export const GENERATED_DIR = join(REPO_ROOT, 'dashboards', 'generated');

/** The parts of Grafana's dashboard JSON the tests read (as generated, not the SDK's types). */
export interface DashboardJson {
  uid: string;
  title: string;
  tags?: string[];
  links?: LinkJson[];
  panels?: PanelJson[];
  templating?: { list?: VariableJson[] };
}
export interface LinkJson {
  title: string;
  type?: string;
  url?: string;
  tags?: string[];
}
export interface TargetJson {
  refId?: string;
  expr?: string;
  instant?: boolean;
  range?: boolean;
  format?: string;
  interval?: string;
  hide?: boolean;
}
export interface PanelJson {
  id?: number;
  type: string;
  title: string;
  description?: string;
  targets?: TargetJson[];
  panels?: PanelJson[];
  links?: LinkJson[];
  maxDataPoints?: number;
  interval?: string;
  fieldConfig?: {
    defaults?: { unit?: string; thresholds?: { steps?: unknown[] }; links?: LinkJson[] };
    overrides?: { matcher: { id: string; options?: unknown }; properties: { id: string; value?: unknown }[] }[];
  };
}
export interface VariableJson {
  type: string;
  name: string;
  query?: string | Record<string, unknown>;
  allValue?: string;
  includeAll?: boolean;
}

/** The committed dashboards, or those `npm run dashboards:generate -- --out dir` wrote to `dir`. */
export function loadGeneratedDashboards(dir = GENERATED_DIR): DashboardJson[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as DashboardJson);
}

/** Panels that show data (rows flattened away). */
export function dataPanels(dashboard: DashboardJson): PanelJson[] {
  const out: PanelJson[] = [];
  for (const panel of dashboard.panels ?? []) {
    if (panel.type === 'row') out.push(...(panel.panels ?? []));
    else out.push(panel);
  }
  return out;
}

export interface PanelQuery {
  dashboard: string;
  panel: string;
  panelType: string;
  refId: string;
  expr: string;
  instant: boolean;
  /** Minimum step of the query (target interval or panel interval), e.g. "1d". */
  interval?: string;
  where: string;
}

export function panelQueries(dashboard: DashboardJson): PanelQuery[] {
  return dataPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? [])
      .filter((t) => t.expr !== undefined && !t.hide)
      .map((t) => ({
        dashboard: dashboard.uid,
        panel: panel.title,
        panelType: panel.type,
        refId: t.refId ?? 'A',
        expr: t.expr!,
        instant: t.instant === true && t.range !== true,
        interval: t.interval ?? panel.interval,
        where: `${dashboard.uid} / "${panel.title}" / ${t.refId ?? 'A'}`,
      })),
  );
}

/**
 * PromQL inside the query variables: `label_values(<selector>, label)` and `query_result(<expr>)`
 * are Grafana functions around PromQL; `label_values(label)` has none.
 */
export function variableExpressions(dashboard: DashboardJson): { name: string; expr: string; where: string }[] {
  const out: { name: string; expr: string; where: string }[] = [];
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : String((variable.query as { query?: string })?.query ?? '');
    const labelValues = /^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/s.exec(query);
    const queryResult = /^query_result\((.+)\)$/s.exec(query);
    const expr = labelValues?.[1] ?? queryResult?.[1];
    if (expr === undefined) throw new Error(`${dashboard.uid} variable ${variable.name}: unsupported query ${query}`);
    out.push({ name: variable.name, expr, where: `${dashboard.uid} / variable ${variable.name}` });
  }
  return out;
}

/**
 * Replaces Grafana template variables (`$name`, `${name}`, `${name:format}`, `[[name]]`) with the
 * given values; an unknown variable is an error, so a typo cannot hide.
 */
export function substituteVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (match, braced?: string, bracketed?: string, plain?: string) => {
    const name = braced ?? bracketed ?? plain!;
    const value = values[name];
    if (value === undefined) throw new Error(`unknown template variable ${match} in: ${expr}`);
    return value;
  });
}

export interface ParsedPromql {
  errors: { from: number; to: number; text: string }[];
  metrics: string[];
}

/** Syntax check with Prometheus's own Lezer grammar, and the metric names the expression selects. */
export function parsePromql(expr: string): ParsedPromql {
  const errors: ParsedPromql['errors'] = [];
  const metrics = new Set<string>();
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) errors.push({ from: node.from, to: node.to, text: expr.slice(Math.max(0, node.from - 10), node.to + 10) });
      if (node.name === 'VectorSelector') {
        const identifier = node.node.getChild('Identifier');
        if (identifier) metrics.add(expr.slice(identifier.from, identifier.to));
      }
      // {__name__="x"} selects a metric too.
      if (node.name === 'UnquotedLabelMatcher') {
        const text = expr.slice(node.from, node.to);
        const byName = /^__name__\s*=\s*"([^"]+)"$/.exec(text);
        if (byName?.[1]) metrics.add(byName[1]);
      }
    },
  });
  return { errors, metrics: [...metrics].sort() };
}

/** Every link of a dashboard: top-bar links, panel links and data links (defaults and overrides). */
export function allLinks(dashboard: DashboardJson): { link: LinkJson; where: string }[] {
  const out: { link: LinkJson; where: string }[] = (dashboard.links ?? []).map((link) => ({ link, where: `${dashboard.uid} top bar` }));
  for (const panel of dataPanels(dashboard)) {
    const where = `${dashboard.uid} / "${panel.title}"`;
    for (const link of panel.links ?? []) out.push({ link, where });
    for (const link of panel.fieldConfig?.defaults?.links ?? []) out.push({ link, where });
    for (const override of panel.fieldConfig?.overrides ?? []) {
      for (const property of override.properties) {
        if (property.id === 'links') for (const link of property.value as LinkJson[]) out.push({ link, where });
      }
    }
  }
  return out;
}
