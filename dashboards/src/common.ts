// House defaults shared by every linkmon dashboard (the SDK's linux-node-overview layout:
// one file per dashboard, this file for the pieces they share).
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelineBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import type { Levels } from './thresholds.js';

/**
 * Every query goes to the data source chosen in the `datasource` variable: the SDK sets no data
 * source by default, and a fixed uid would break on any Grafana whose Prometheus has another uid.
 */
export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Fixed uids: links between the dashboards and bookmarks depend on them. */
export const DASHBOARD_UIDS = {
  overview: 'linkmon-overview',
  siteDetail: 'linkmon-site-detail',
  capacity: 'linkmon-capacity',
} as const;

/** Every linkmon dashboard carries this tag; the dashboards' link menu lists dashboards by it. */
export const LINKMON_TAG = 'linkmon';

/** Grafana palette names, so the three states mean the same colour on every panel. */
export const COLOURS = { green: 'green', amber: 'orange', red: 'red', blue: 'blue' } as const;

// ---------------------------------------------------------------------------------------------
// Queries

/** A range query, one series per label set, with a legend. */
export function prometheusQuery(expr: string, legend: string): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder().datasource(DATASOURCE).expr(expr).legendFormat(legend).range();
}

/** An instant query (stats, gauges, bar gauges): only the value at the end of the range. */
export function instantQuery(expr: string, legend: string): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder().datasource(DATASOURCE).expr(expr).legendFormat(legend).instant();
}

/** An instant query in table format: one row per series, labels as columns, the value as `Value #<refId>`. */
export function tableQuery(expr: string, refId: string): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder()
    .datasource(DATASOURCE)
    .expr(expr)
    .format(prometheus.PromQueryFormat.Table)
    .instant()
    .refId(refId);
}

/** A range query in heatmap format: Grafana turns cumulative `le` buckets into heatmap rows. */
export function heatmapQuery(expr: string): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder()
    .datasource(DATASOURCE)
    .expr(expr)
    .format(prometheus.PromQueryFormat.Heatmap)
    .legendFormat('{{le}}')
    .range();
}

// ---------------------------------------------------------------------------------------------
// Thresholds

/**
 * Thresholds from alert levels (see thresholds.ts). `higher`: green below amber, amber from it, red
 * from red. `lower` (availability, remaining time, throughput): red below red, amber below amber.
 */
export function alertThresholds(levels: Levels, worse: 'higher' | 'lower' = 'higher'): dashboard.ThresholdsConfigBuilder {
  const { amber, red } = levels;
  if (amber === undefined && red === undefined) throw new Error('thresholds: expected an amber or a red level');
  if (amber !== undefined && red !== undefined && (worse === 'higher' ? !(amber < red) : !(red < amber))) {
    throw new Error(`thresholds: amber ${amber} and red ${red} are in the wrong order for "${worse} is worse"`);
  }
  const steps: dashboard.Threshold[] =
    worse === 'higher'
      ? [
          { value: null, color: COLOURS.green },
          ...(amber !== undefined ? [{ value: amber, color: COLOURS.amber }] : []),
          ...(red !== undefined ? [{ value: red, color: COLOURS.red }] : []),
        ]
      : [
          { value: null, color: red !== undefined ? COLOURS.red : COLOURS.amber },
          ...(red !== undefined && amber !== undefined ? [{ value: red, color: COLOURS.amber }] : []),
          { value: amber ?? red!, color: COLOURS.green },
        ];
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps);
}

/**
 * Field overrides giving each link's series its own alert levels. The series' display name must end
 * in `(<link>)`, i.e. the legend ends in `({{link}})`; links without an entry keep the panel default.
 */
export function perLinkThresholdOverrides(links: string[], levels: (link: string) => Levels): { matcher: dashboard.MatcherConfig; properties: dashboard.DynamicConfigValue[] }[] {
  return links.map((link) => ({
    matcher: { id: 'byRegexp', options: `.*\\(${escapeRegExp(link)}\\)$` },
    properties: [{ id: 'thresholds', value: alertThresholds(levels(link)).build() }],
  }));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** For 0/1 state series (probe success, interface up): 0 is red, 1 is green. */
export function upDownThresholds(): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
    { value: null, color: COLOURS.red },
    { value: 1, color: COLOURS.green },
  ]);
}

/** Informational panels (counts, dates) still carry thresholds: one neutral step. */
export function neutralThresholds(): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([{ value: null, color: COLOURS.blue }]);
}

/** Value texts for 0/1 state series. */
export function upDownMappings(down: string, up: string): dashboard.ValueMapping[] {
  return [
    {
      type: dashboard.MappingType.ValueToText,
      options: {
        '0': { text: down, color: COLOURS.red, index: 0 },
        '1': { text: up, color: COLOURS.green, index: 1 },
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Panels

export function defaultTimeseries(): TimeseriesBuilder {
  return new TimeseriesBuilder()
    .datasource(DATASOURCE)
    .lineWidth(1)
    .fillOpacity(10)
    .lineInterpolation(common.LineInterpolation.Linear)
    .showPoints(common.VisibilityMode.Never)
    .drawStyle(common.GraphDrawStyle.Line)
    .gradientMode(common.GraphGradientMode.None)
    // A gap in the data (agent down, no replies) must show as a gap, not as a straight line.
    .spanNulls(false)
    .axisBorderShow(false)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .placement(common.LegendPlacement.Bottom)
        .displayMode(common.LegendDisplayMode.List),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending))
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
}

/** A stat showing the last value, coloured by its thresholds. */
export function defaultStat(): StatBuilder {
  return new StatBuilder()
    .datasource(DATASOURCE)
    .height(4)
    .span(4)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.ValueAndName)
    .justifyMode(common.BigValueJustifyMode.Center);
}

/** One row per series, coloured by thresholds over time: the "since when" view. */
export function defaultStateTimeline(): StateTimelineBuilder {
  return new StateTimelineBuilder()
    .datasource(DATASOURCE)
    .showValue(common.VisibilityMode.Never)
    .mergeValues(true)
    .rowHeight(0.85)
    .fillOpacity(80)
    .lineWidth(0)
    .legend(new common.VizLegendOptionsBuilder().showLegend(false))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Single));
}

export function defaultTable(): TableBuilder {
  return new TableBuilder().datasource(DATASOURCE).cellHeight(common.TableCellHeight.Sm);
}

/** Table cell option: colour the whole cell by the field's thresholds. */
export const COLOURED_CELL: common.TableCellOptions = { type: common.TableCellDisplayMode.ColorBackground, mode: common.TableCellBackgroundDisplayMode.Basic };

// ---------------------------------------------------------------------------------------------
// Variables and links

export function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus').multi(false).includeAll(false);
}

/** A variable filled from `label_values(...)`, refreshed when the time range changes. */
export function queryVariable(name: string, label: string, query: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .query(query)
    .definition(query)
    .datasource(DATASOURCE)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
}

/** The top-bar menu of all linkmon dashboards, keeping the time range and variables. */
export interface LinkmonDashboardOptions {
  title: string;
  uid: string;
  description: string;
  tag: string;
  refresh: string;
  from: string;
  timezone: string;
}

/** The house settings every linkmon dashboard shares: tags, shared crosshair, the dashboards menu link. */
export function linkmonDashboard(options: LinkmonDashboardOptions): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(options.title)
    .uid(options.uid)
    .description(options.description)
    .tags([LINKMON_TAG, options.tag])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .refresh(options.refresh)
    .time({ from: options.from, to: 'now' })
    .timezone(options.timezone)
    .link(linkmonDashboardsLink());
}

export function linkmonDashboardsLink(): dashboard.DashboardLinkBuilder {
  return new dashboard.DashboardLinkBuilder('linkmon dashboards')
    .type(dashboard.DashboardLinkType.Dashboards)
    .tags([LINKMON_TAG])
    .asDropdown(true)
    .includeVars(true)
    .keepTime(true);
}

/** A top-bar link to one dashboard by uid (the tests check that every such uid exists). */
export function dashboardLink(title: string, uid: string, tooltip: string): dashboard.DashboardLinkBuilder {
  return new dashboard.DashboardLinkBuilder(title)
    .type(dashboard.DashboardLinkType.Link)
    .url(`/d/${uid}`)
    .tooltip(tooltip)
    .icon('dashboard')
    .includeVars(false)
    .keepTime(true);
}

/**
 * A data link to the site detail dashboard for the site of the clicked value. `siteRef` is the
 * Grafana data-link variable naming the site: `${__field.labels.site}` for series,
 * `${__data.fields.site}` for table rows. Keeps the data source and the time range.
 */
export function siteDetailLink(siteRef: string): dashboard.DashboardLinkBuilder {
  return new dashboard.DashboardLinkBuilder(`Site detail for ${siteRef}`)
    .url(`/d/${DASHBOARD_UIDS.siteDetail}?var-site=${siteRef}&\${datasource:queryparam}&\${__url_time_range}`)
    .targetBlank(false);
}

// ---------------------------------------------------------------------------------------------
// Output

/**
 * Final touches the SDK cannot express: panel ids numbered in layout order (stable links to a
 * panel with `viewPanel`) and no link `placement`. The SDK 0.0.21 default "inControlsMenu" would
 * hide every link inside the controls menu of Grafana 12.4+ instead of the top bar.
 */
export function finalise(built: dashboard.Dashboard): dashboard.Dashboard {
  packGrid((built.panels ?? []) as { type: string; gridPos?: dashboard.GridPos }[]);
  let nextId = 1;
  const number = (panel: { id?: number; panels?: unknown[] }) => {
    panel.id = nextId++;
    for (const inner of (panel.panels ?? []) as { id?: number; panels?: unknown[] }[]) number(inner);
  };
  for (const panel of (built.panels ?? []) as { id?: number; panels?: unknown[] }[]) number(panel);
  const stripPlacement = (link: { placement?: unknown }) => delete link.placement;
  (built.links ?? []).forEach(stripPlacement);
  for (const panel of allPanels(built)) {
    assignRefIds((panel.targets ?? []) as { refId?: string }[]);
    (panel.links ?? []).forEach(stripPlacement);
    (panel.fieldConfig?.defaults?.links ?? []).forEach(stripPlacement);
    for (const override of panel.fieldConfig?.overrides ?? []) {
      for (const property of override.properties) if (property.id === 'links') (property.value as { placement?: unknown }[]).forEach(stripPlacement);
    }
  }
  return built;
}

/** Targets without a refId get the first free letter (A, B, C, …), as Grafana would on load. */
function assignRefIds(targets: { refId?: string }[]): void {
  const used = new Set(targets.map((t) => t.refId).filter((id): id is string => id !== undefined));
  let next = 0;
  for (const target of targets) {
    if (target.refId !== undefined) continue;
    while (used.has(String.fromCharCode(65 + next))) next++;
    target.refId = String.fromCharCode(65 + next);
    used.add(target.refId);
  }
}

const GRID_COLUMNS = 24;

/**
 * Places panels like Grafana's own grid gravity, in order: each panel goes to the highest free
 * spot wide enough for it (leftmost on ties), so a tall panel can sit beside a stack of short
 * ones. A row starts below everything before it. Only each panel's width and height are used;
 * the SDK's left-to-right flow cannot stack panels beside a tall one.
 */
function packGrid(panels: { type: string; gridPos?: dashboard.GridPos }[]): void {
  const heights = new Array<number>(GRID_COLUMNS).fill(0);
  const bottom = () => Math.max(...heights);
  for (const panel of panels) {
    const size = panel.gridPos ?? dashboard.defaultGridPos();
    if (panel.type === 'row') {
      const y = bottom();
      panel.gridPos = { x: 0, y, w: GRID_COLUMNS, h: 1 };
      heights.fill(y + 1);
      continue;
    }
    const w = Math.min(size.w, GRID_COLUMNS);
    let best = { x: 0, y: Number.POSITIVE_INFINITY };
    for (let x = 0; x + w <= GRID_COLUMNS; x++) {
      const y = Math.max(...heights.slice(x, x + w));
      if (y < best.y) best = { x, y };
    }
    panel.gridPos = { x: best.x, y: best.y, w, h: size.h };
    heights.fill(best.y + size.h, best.x, best.x + w);
  }
}

/** Every panel of a dashboard, including those inside collapsed rows. */
export function allPanels(built: dashboard.Dashboard): dashboard.Panel[] {
  const out: dashboard.Panel[] = [];
  for (const panel of built.panels ?? []) {
    if (panel.type === 'row') out.push(...(((panel as dashboard.RowPanel).panels ?? []) as dashboard.Panel[]));
    else out.push(panel as dashboard.Panel);
  }
  return out;
}
