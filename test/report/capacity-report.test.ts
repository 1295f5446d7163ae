/// <reference lib="dom" />
// The capacity report and the capacity rules over 13+ months of synthetic history in a real Prometheus,
// each figure compared with an independent computation from the definitions of docs/capacity.md
// (test/support/capacity-definitions.ts, comparisons in capacity-checks.ts, shared with
// bench/capacity-report.ts). The history (test/support/capacity-history.ts) is backfilled once for
// the file: raw series with `promtool tsdb create-blocks-from openmetrics`, the capacity recording
// rules with `promtool tsdb create-blocks-from rules`.
//
// Needs the Debian packages prometheus (prometheus, promtool), victoria-metrics and chromium
// (scripts/test-host-setup.sh). No root; loopback only.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monthlyFigures } from '../../alerts/src/capacity-monthly.js';
import { capacityPromql } from '../../alerts/src/capacity-promql.js';
import { alertsConfig } from '../../alerts/src/config.js';
import { makeReport, renderReport } from '../../report/main.js';
import type { LinkReport, Report } from '../../report/model.js';
import type { Month } from '../../report/months.js';
import { loadGeneratedDashboards, panelQueries, substituteVariables } from '../dashboards/dashboard-queries.js';
import { backfill, BACKFILL_RETENTION, type Backfill } from '../support/capacity-backfill.js';
import {
  backfilledGroups,
  copyHistory,
  definitionDifferences,
  expectedFor,
  forecastTiming,
  instantQuery,
  MONTHS,
  relative,
  releaseDays,
  REPORT_MONTH,
  shippedLongTermStorage,
  stepTiming,
  storeDifferences,
  worstByFigure,
  type Expected,
} from '../support/capacity-checks.js';
import { prometheusIncrease, type Window } from '../support/capacity-definitions.js';
import { generateCapacityHistory } from '../support/capacity-history.js';
import { openChromium } from '../support/chromium.js';
import { REPO_ROOT } from '../support/linkmon-process.js';
import { startPrometheus, type PrometheusInstance } from '../support/prometheus.js';
import { remoteWrite } from '../support/remote-write.js';
import { startVictoriaMetrics } from '../support/victoria-metrics.js';

const DAY = 86400;
const q = capacityPromql(alertsConfig);
const { names } = q;
const history = generateCapacityHistory();
const date = (t: number | undefined) => (t === undefined ? 'none' : new Date(t * 1000).toISOString());

describe('linkmon report over 13 months of backfilled history', () => {
  let store: Backfill | undefined;
  let prometheus: PrometheusInstance | undefined;
  let report: Report;
  const expected = new Map<string, Expected>();
  const timings: Record<string, number> = {};
  const queryRange = (expr: string, start: number, end: number, step: number) => prometheus!.queryRange(expr, start, end, step);

  beforeAll(async () => {
    // The last windows are recorded up to a window and its lag after they end: evaluate the rules a while past the data.
    store = await backfill(history.series, backfilledGroups(alertsConfig), history.from, history.to + 3600);
    Object.assign(timings, store.timings);
    prometheus = await startPrometheus({ storagePath: store.storagePath, extraArgs: [BACKFILL_RETENTION] });
    const started = performance.now();
    report = await makeReport(
      { prometheus: new URL(prometheus.url), month: REPORT_MONTH, months: 13, format: 'json', timeoutMs: 60_000 },
      { stdout: process.stdout, stderr: { write: () => true }, now: () => REPORT_MONTH.end + DAY },
    );
    timings['report from Prometheus'] = Math.round(performance.now() - started) / 1000;
    for (const spec of history.links) expected.set(spec.link, expectedFor(history, spec, alertsConfig));
    // promtool's backfill is CPU work: ~31 s at load 4, 60-80 s beside stress-ng --cpu 2, and once
    // over 120 s with two more suites on the same two cores. The bound is for a hang, not a speed.
  }, 300_000);

  afterAll(async () => {
    await prometheus?.stop();
    store?.cleanup();
    console.log('capacity report test timings (s):', timings);
  });

  const linkReport = (link: string): LinkReport => report.links.find((l) => l.link === link)!;

  it('reports the links with data, each with 13 months', () => {
    expect(report.links.map((l) => l.link).sort()).toEqual(['hsl', 'spare', 'wan']);
    expect(report.months).toEqual(MONTHS.map((m) => m.label));
    for (const link of report.links) expect(link.months.map((m) => m.month)).toEqual(report.months);
  });

  it('gives every monthly figure within 1% of the definitions (hours above within 0.25 h)', () => {
    const differences = definitionDifferences(report, expected, alertsConfig);
    expect(differences.length).toBeGreaterThan(500);
    expect(differences.filter((d) => !(d.error <= d.bound))).toEqual([]);
    console.log('largest differences from the definitions (relative; hours for "(h)"):', worstByFigure(differences));
  });

  it("gives each site's share of demand and the hours its agent was not scraped, as defined", () => {
    const raw = (name: string, site: string) => history.series.filter((x) => x.name === name && x.labels.site === site);
    const octets = (site: string, m: Month) => {
      const traffic = raw('linkmon_interface_bytes_total', site).reduce((a, x) => a + (prometheusIncrease(x, m.start, m.end) ?? 0), 0);
      const tests = raw('linkmon_throughput_test_bytes_total', site).reduce((a, x) => a + (prometheusIncrease(x, m.start, m.end) ?? 0), 0);
      return Math.max(0, traffic - 1.05 * tests);
    };
    for (const m of MONTHS) {
      const esb = octets('esb', m);
      const lambeth = octets('lambeth', m);
      const got = linkReport('hsl').months.find((x) => x.month === m.label)!.sites;
      expect(relative(got.esb!.site_share!, esb / (esb + lambeth)), `${m.label} esb`).toBeLessThanOrEqual(0.01);
      expect(relative(got.lambeth!.site_share!, lambeth / (esb + lambeth)), `${m.label} lambeth`).toBeLessThanOrEqual(0.01);
      const up = history.series.find((x) => x.name === 'up' && x.labels.site === 'dc')!;
      const inMonth = up.values.filter((_, i) => up.times[i]! >= m.start && up.times[i]! < m.end);
      const downHours = (1 - inMonth.reduce((a, b) => a + b, 0) / inMonth.length) * m.days * 24;
      expect(Math.abs((got.dc?.agent_down_hours ?? 0) - downHours), `${m.label} dc agent down`).toBeLessThanOrEqual(0.25);
    }
    // ESB carries 18% of hsl demand plus its own tests, Lambeth 10%: about 64% and 36%.
    expect(linkReport('hsl').months.at(-1)!.sites.esb!.site_share).toBeGreaterThan(0.6);
  });

  it('flags the gap, the counter reset, the failed poll and the missing agent in their months, never averaging them away', () => {
    const hsl = linkReport('hsl').flags;
    expect(hsl).toContainEqual(expect.stringMatching(/^2026-03: 72 of 8928 windows excluded \(6\.00 h, 6\.00 h of them in busy hours\)/));
    expect(hsl).toContainEqual('2026-03: agent of site dc not scraped for 6.00 h');
    expect(hsl).toContainEqual(expect.stringMatching(/^2026-05: 1 counter reset \(/));
    const spare = linkReport('spare').flags;
    expect(spare).toContainEqual(expect.stringMatching(/^2026-07: 2 of 8928 windows excluded/));
    expect(spare).toContainEqual(expect.stringMatching(/^2026-07: 1 failed SNMP poll \(/));
    expect(spare).toContainEqual('2026-05: no data: no window of the month counts');
    // The gap's day has 48 of 120 busy windows: no daily busy-hour p95 that day (the minimum-sample rule).
    const gapDay = history.events.gap[0] - (history.events.gap[0] % DAY);
    expect(expected.get('hsl')!.daily.some((d) => d.day === gapDay)).toBe(false);
  });

  it('fires the forecast rule within 2 days of the independent least-squares date, and keeps it on while the projection stays above', async () => {
    const summary: Record<string, unknown> = {};
    for (const link of ['hsl', 'wan']) {
      const timing = await forecastTiming(queryRange, expected.get(link)!, alertsConfig);
      expect(timing.independent, `${link}: the history must cross the forecast threshold`).toBeDefined();
      expect(Math.abs(timing.first - timing.independent!) / DAY, `${link}: first ${date(timing.first)}, independent ${date(timing.independent)}`).toBeLessThanOrEqual(2);
      expect(timing.mismatches, `${link}: the rule and the projection disagree`).toEqual([]);
      summary[link] = { first: date(timing.first), independent: date(timing.independent), daysApart: (timing.first - timing.independent!) / DAY, fitsBelowAfterwards: timing.fitsBelowAfterwards };
    }
    console.log('forecast rule vs independent least squares:', summary);
  });

  it('fires the step rule within an hour of its independent onset', async () => {
    const summary: Record<string, unknown> = {};
    for (const link of ['hsl', 'wan']) {
      const timing = await stepTiming(queryRange, expected.get(link)!, alertsConfig);
      expect(timing.onset, `${link}: the history must cross the recommend threshold`).toBeDefined();
      expect(timing.heldBefore, `${link}: the step rule held before its onset`).toBe(false);
      expect(Math.abs(timing.first - timing.onset!), `${link}: first ${date(timing.first)}, independent ${date(timing.onset)}`).toBeLessThanOrEqual(3600);
      summary[link] = { first: date(timing.first), independent: date(timing.onset), minutesApart: (timing.first - timing.onset!) / 60 };
    }
    console.log('step rule vs independent rolling p95:', summary);
  });

  it('fires the release rule on the 2 Gbps link whose demand fits 1 Gbps, and never on the growing 1 Gbps links', async () => {
    const { firing, independent } = await releaseDays(queryRange, history, expected.get('spare')!, alertsConfig);
    expect([...firing.keys()]).toEqual(['spare']);
    expect(independent.length).toBeGreaterThan(0);
    expect(firing.get('spare')).toEqual(independent);
    console.log('release rule on spare from', date(independent[0]));
  });

  it('decides per link: order now (step rule holds), with costs from the exported terms; release the unused step', () => {
    const hsl = linkReport('hsl');
    expect(hsl.rules).toMatchObject({ stepRule: true, forecastRule: true, releaseRule: false, stepsRecommended: 1 });
    expect(hsl.decision).toMatchObject({ action: 'order', steps: 1, orderBy: REPORT_MONTH.end, oneOffCostGbp: 500, addedAnnualCostGbp: 1500 });
    expect(hsl.decision.sentence).toMatch(/^Order 1 step of 1 Gbit\/s \(to 2 Gbit\/s\) now: £500 one-off and £1,500 a year more; the rolling 30d busy-hour p95 is \d+\.\d% \(a step is due above 75%\)\.$/);
    const spare = linkReport('spare');
    expect(spare.decision).toMatchObject({ action: 'release', annualSavingGbp: 1500 });
    expect(spare.decision.sentence).toMatch(/^Release one 1 Gbit\/s step \(2 Gbit\/s → 1 Gbit\/s\): it saves £1,500 a year/);
    const p95 = quantileOfLast30Days(expected.get('hsl')!.windows, REPORT_MONTH.end);
    expect(relative(hsl.rules.p95BusyLong!, p95)).toBeLessThanOrEqual(0.01);
    expect(hsl.forecast!.slopePerDay).toBeGreaterThan(0);
  });

  it('writes the same numbers to CSV and Markdown as to JSON', () => {
    const csv = renderReport(report, 'csv', alertsConfig)
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','));
    const hsl = linkReport('hsl');
    const october = hsl.months.at(-1)!;
    const row = (figure: string, label = '', month = '2026-10', link = 'hsl') => csv.find((r) => r[0] === link && r[1] === month && r[2] === figure && r[3] === label);
    for (const [key, value] of Object.entries(october.figures)) expect(Number(row(key)![4]), key).toBe(value);
    for (const [direction, figures] of Object.entries(october.directions)) for (const [key, value] of Object.entries(figures)) expect(Number(row(key, direction)![4])).toBe(value);
    expect(Number(row('site_share', 'esb')![4])).toBe(october.sites.esb!.site_share);
    expect(Number(row('forecast_crossing')![4])).toBe(hsl.forecast!.crossing);
    expect(row('decision', 'order')).toBeDefined();
    const markdown = renderReport(report, 'md', alertsConfig);
    const line = markdown.split('\n').find((l) => l.startsWith('| 2026-10 |'))!;
    expect(line).toContain(`| ${(october.figures.p95! * 100).toFixed(1)}% |`);
    expect(line).toContain(`| ${(october.figures.busy_p95! * 100).toFixed(1)}% |`);
    expect(line).toContain(`| ${october.figures.hours_above_70!.toFixed(2)} |`);
    expect(markdown).toContain(hsl.decision.sentence);
  });

  it('renders HTML that opens in headless Chromium, with chart points at the report numbers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkmon-report-html-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReport(report, 'html', alertsConfig));
    const html = readFileSync(file, 'utf8');
    // Self-contained: nothing to fetch.
    expect(html).not.toMatch(/<(script|link|img)\b|src=|@import|url\(/);
    const browser = await openChromium({ width: 1280, height: 1000 });
    try {
      await browser.page.goto(pathToFileURL(file).href);
      for (const link of report.links) {
        const points = await browser.page.evaluate((name) => {
          const svg = document.querySelector(`section[data-link="${name}"] svg.chart`) as SVGSVGElement;
          const area = svg.querySelector('rect.plot-area')!.getBoundingClientRect();
          const yMax = Number(svg.dataset.yMax);
          return Array.from(svg.querySelectorAll('circle.point')).map((c) => {
            const box = c.getBoundingClientRect();
            const el = c as SVGCircleElement;
            return {
              series: el.dataset.series!,
              month: el.dataset.month!,
              value: Number(el.dataset.value),
              // Read back from where the point is drawn: height above the plot's bottom edge on its scale.
              drawn: ((area.bottom - (box.top + box.height / 2)) / area.height) * yMax,
              pixel: yMax / area.height,
            };
          });
        }, link.link);
        const withData = link.months.flatMap((m) => ['p95', 'busy_p95'].filter((k) => m.figures[k] !== undefined).map((k) => `${m.month} ${k}`));
        expect(points.map((p) => `${p.month} ${p.series}`).sort()).toEqual(withData.sort());
        for (const p of points) {
          const figure = link.months.find((m) => m.month === p.month)!.figures[p.series]!;
          expect(p.value, `${link.link} ${p.month} ${p.series}`).toBe(figure);
          expect(Math.abs(p.drawn - figure), `${link.link} ${p.month} ${p.series} drawn at ${p.drawn}`).toBeLessThanOrEqual(p.pixel);
        }
      }
      const shot = join(dir, 'capacity-report.png');
      await browser.page.screenshot({ path: shot });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      if (process.env.UPDATE_DOCS_SCREENSHOT) copyFileSync(shot, join(REPO_ROOT, 'docs', 'capacity-report.png'));
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows the report's figures in the capacity dashboard's monthly panels (the same queries, as Grafana runs them)", async () => {
    const capacity = loadGeneratedDashboards().find((d) => d.uid === 'linkmon-capacity')!;
    const queries = panelQueries(capacity).filter((query) => query.panel.startsWith('Monthly') || query.panel.startsWith("Sites' share"));
    const keys = new Map<string, { key: string; direction?: string }>();
    for (const f of monthlyFigures(alertsConfig)) {
      if (f.by === 'direction') for (const direction of ['in', 'out']) keys.set(`${f.key}_${direction}`.toUpperCase(), { key: f.key, direction });
      else keys.set(f.key.toUpperCase(), { key: f.key });
    }
    // Grafana's daily steps at 00:00 UTC (the dashboard is in UTC), over the last two month ends of the report.
    const [before, last] = MONTHS.slice(-2) as [Month, Month];
    const link = linkReport('hsl');
    let compared = 0;
    for (const query of queries.filter((x) => x.refId !== 'MONTH')) {
      const figure = keys.get(query.refId!);
      expect(figure, `${query.where}: refId ${query.refId} is a figure of the report`).toBeDefined();
      // $job and $instance as Grafana fills them with "All": the agents' job (job="linkmon"), every instance.
      const result = await prometheus!.queryRange(substituteVariables(query.expr, { link: link.link, job: 'linkmon', instance: '.+' }), before.end - 2 * DAY, last.end, DAY);
      for (const series of result) {
        // One row per month: nothing on the other days.
        expect(series.values.map(([t]) => t).sort(), query.where).toEqual([before.end, last.end]);
        for (const m of [before, last]) {
          const month = link.months.find((x) => x.month === m.label)!;
          const site = series.metric.site;
          const want = site !== undefined ? month.sites[site]?.[figure!.key] : figure!.direction !== undefined ? month.directions[figure!.direction]?.[figure!.key] : month.figures[figure!.key];
          expect(series.values.find(([t]) => t === m.end)?.[1], `${query.where} ${m.label}${site ? ` ${site}` : ''}`).toBe(want === undefined ? undefined : String(want));
          compared += 1;
        }
      }
    }
    expect(compared).toBeGreaterThan(50);
  });

  it('gives the same figures from VictoriaMetrics fed through the remote_write block of prometheus/prometheus.yml (within 0.5%)', async () => {
    const started = performance.now();
    const vm = await startVictoriaMetrics();
    let relay: PrometheusInstance | undefined;
    try {
      // The block itself, live: a Prometheus with the shipped global section and this remote_write
      // forwards what it ingests now (here through its remote-write receiver) with the external labels,
      // keeping the linkmon and recorded series and dropping the rest.
      const { global, block } = shippedLongTermStorage();
      block[0]!.url = `${vm.url}/api/v1/write`;
      // Sooner than the default 5 s, to keep the test short; nothing else of the block is changed.
      block[0]!.queue_config = { ...block[0]!.queue_config, batch_send_deadline: '500ms' };
      relay = await startPrometheus({ configYaml: stringify({ global, remote_write: block }), extraArgs: ['--web.enable-remote-write-receiver'] });
      // Newer than the relay's start (it forwards nothing older), to the millisecond.
      const now = Date.now() / 1000 + 1;
      const live = [names.window, 'linkmon_link_capacity_bytes', 'node_cpu_seconds_total'].map((name) => ({ labels: { __name__: name, job: 'linkmon', link: 'relay-check' }, samples: [[now, 0.5]] as Array<[number, number]> }));
      await remoteWrite(`${relay.url}/api/v1/write`, live);
      const arrivedLive = async () => (await instantQuery(vm.url, 'group by (__name__, monitor, replica) ({link="relay-check"})', now + 60)).map((x) => `${x.metric.__name__} ${x.metric.monitor} ${x.metric.replica}`).sort();
      const liveDeadline = Date.now() + 30_000;
      while (Date.now() < liveDeadline && (await arrivedLive()).length < 2) {
        await fetch(`${vm.url}/internal/force_flush`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await arrivedLive()).toEqual([`${names.window} linkmon a`, 'linkmon_link_capacity_bytes linkmon a']);
      timings['live samples through the block'] = Math.round(performance.now() - started) / 1000;

      // The history, by the same protocol, filtered and labelled as the block and the global section say.
      const { wanted, arrived } = await copyHistory(prometheus!.url, (selector, time) => prometheus!.querySamples(selector, time), vm.url, history.from, history.to);
      expect(arrived, 'samples in VictoriaMetrics').toBe(wanted);
      timings['history to VictoriaMetrics'] = Math.round(performance.now() - started) / 1000;

      const fromVm = await makeReport(
        { prometheus: new URL(vm.url), month: REPORT_MONTH, months: 13, format: 'json', timeoutMs: 60_000 },
        { stdout: process.stdout, stderr: { write: () => true }, now: () => REPORT_MONTH.end + DAY },
      );
      expect(fromVm.links.map((l) => l.link)).toEqual(report.links.map((l) => l.link));
      const differences = storeDifferences(fromVm, report);
      expect(differences.filter((d) => !(d.error <= d.bound))).toEqual([]);
      for (const link of report.links) {
        const other = fromVm.links.find((l) => l.link === link.link)!;
        expect(other.decision).toEqual(link.decision);
        expect(other.flags).toEqual(link.flags);
      }
      console.log('largest relative difference, VictoriaMetrics against Prometheus:', Math.max(...differences.map((d) => d.error)));
    } finally {
      await relay?.stop();
      await vm.stop();
    }
  }, 120_000);
});

/** The busy-hour p95 of the windows that ended in the 30 days before `t`. */
function quantileOfLast30Days(windows: readonly Window[], t: number): number {
  const values = windows.filter((w) => w.busy && w.start + 300 > t - 30 * DAY && w.start + 300 <= t).map((w) => w.value);
  const sorted = values.sort((a, b) => a - b);
  const rank = 0.95 * (sorted.length - 1);
  const lower = Math.floor(rank);
  return sorted[lower]! + (sorted[Math.min(lower + 1, sorted.length - 1)]! - sorted[lower]!) * (rank - lower);
}
