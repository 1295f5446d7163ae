// promtool unit tests of the capacity rules (alerts/src/capacity.ts, definitions in docs/capacity.md):
// utilisation with test traffic subtracted, aligned windows whatever the evaluation phase, UK busy hours
// across both BST changes, the daily busy-hour p95 and its minimum-sample rule, the step, forecast and
// release rules, and LinkSaturated. The scenarios are built here, next to the numbers they derive from,
// and run with `promtool test rules`. Needs the Debian package prometheus (promtool). No root.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { busyHoursExpr, capacityNames, capacityRuleGroups, ukSummerTimeExpr } from '../../alerts/src/capacity.js';
import { dailyFits, quantile } from '../support/capacity-definitions.js';
import { alertsConfig, type AlertsConfig } from '../../alerts/src/config.js';
import { latencyRuleGroups } from '../../alerts/src/latency.js';
import { lossRuleGroups } from '../../alerts/src/loss.js';
import type { RuleGroup } from '../../alerts/src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'linkmon-capacity-rules-'));
afterAll(() => (process.env.KEEP_RULE_TESTS ? undefined : rmSync(dir, { recursive: true, force: true })));

const HOUR = 3600;
const DAY = 86400;
const GBPS_BYTES = 125e6;
const AGENT = { job: 'linkmon', instance: 'dc:9470', site: 'dc' };
const RUNBOOK = `${alertsConfig.runbookBaseUrl}/capacity.md`;

type Labels = Record<string, string>;
interface InputSeries {
  series: string;
  values: string;
}
interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: { exp_labels: Labels; exp_annotations?: Labels }[];
}
interface ExprTest {
  expr: string;
  eval_time: string;
  exp_samples: { labels: string; value: number }[];
}
interface PromtoolTest {
  interval: string;
  input_series: InputSeries[];
  alert_rule_test?: AlertTest[];
  promql_expr_test?: ExprTest[];
}

function series(name: string, labels: Labels, values: string): InputSeries {
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return { series: `${name}{${text}}`, values };
}

/** The linkmon_link_* terms the agent exports for one link (as in agent/capacity/terms.ts). */
function linkTerms(link: string, o: { capacityGbps: number; device?: string; iface?: string; leadTimeDays?: number; forecast?: number; steps?: number }): InputSeries[] {
  const n = o.steps ?? 200;
  const flat = (v: number) => `${v}x${n}`;
  const at = { ...AGENT, link };
  return [
    series('linkmon_link_info', { ...at, device: o.device ?? 'r1', interface: o.iface ?? link }, flat(1)),
    series('linkmon_link_capacity_bytes', at, flat(o.capacityGbps * GBPS_BYTES)),
    series('linkmon_link_step_bytes', at, flat(GBPS_BYTES)),
    series('linkmon_link_step_one_off_cost_gbp', at, flat(500)),
    series('linkmon_link_step_annual_cost_gbp', at, flat(1500)),
    series('linkmon_link_step_lead_time_seconds', at, flat((o.leadTimeDays ?? 30) * 86400)),
    series('linkmon_link_threshold_ratio', { ...at, threshold: 'recommend' }, flat(0.7)),
    series('linkmon_link_threshold_ratio', { ...at, threshold: 'forecast' }, flat(o.forecast ?? 0.8)),
    series('linkmon_link_threshold_ratio', { ...at, threshold: 'unused' }, flat(0.5)),
  ];
}

/** Counter values for a sequence of constant-rate phases: [bytes per second, samples] at `stepSeconds` apart. */
function counter(phases: Array<[perSecond: number, samples: number]>, stepSeconds: number): string {
  let last = -1;
  return phases
    .map(([perSecond, samples], i) => {
      const step = perSecond * stepSeconds;
      // The first phase starts at 0; each later one continues one step after the previous phase's last value.
      const start = i === 0 ? 0 : last + step;
      last = start + step * (samples - 1);
      return `${start}+${step}x${samples - 1}`;
    })
    .join(' ');
}

function rulesFile(name: string, groups: RuleGroup[]): string {
  writeFileSync(join(dir, name), stringify({ groups }, { lineWidth: 0 }));
  return name;
}

function promtoolFile(name: string, ruleFiles: string[], evaluationInterval: string, tests: PromtoolTest[], groupEvalOrder: string[]): string {
  writeFileSync(join(dir, name), stringify({ rule_files: ruleFiles, evaluation_interval: evaluationInterval, group_eval_order: groupEvalOrder, tests }, { lineWidth: 0 }));
  return name;
}

function promtool(file: string): { code: number | null; output: string } {
  // promtool keeps its test TSDB in TMPDIR; on tmpfs it runs about twice as fast.
  const env = existsSync('/dev/shm') ? { ...process.env, TMPDIR: '/dev/shm' } : process.env;
  const result = spawnSync('promtool', ['test', 'rules', file], { cwd: dir, encoding: 'utf8', timeout: 120_000, env });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

const groupNames = (groups: RuleGroup[]) => groups.map((g) => g.name);
/** Recording groups first, so an alert reads the recordings of the same evaluation. */
const inEvalOrder = (groups: RuleGroup[]) => [...groups.filter((g) => !g.name.endsWith('.alerts')), ...groups.filter((g) => g.name.endsWith('.alerts'))];

// Each test waits for promtool, itself bounded at 120 s: CPU work that took over 60 s once with two
// suites on the two cores.
describe('capacity rules (promtool test rules)', { timeout: 150_000 }, () => {
  it('record utilisation per direction with throughput-test traffic of that link subtracted', () => {
    const names = capacityNames(alertsConfig);
    const groups = inEvalOrder(capacityRuleGroups(alertsConfig));
    const rules = rulesFile('utilisation-rules.yml', groups);
    const iface = { ...AGENT, device: 'r1', interface: 'hsl' };
    const test = (site: string, link: string, direction: string) => ({ job: 'linkmon', instance: `${site}:9470`, site, target: 'responder', kind: 'throughput', link, direction });
    // HSL 1 Gbps: out 75 MB/s and in 25 MB/s on the router; of that, tests across the HSL sent 10 MB/s
    // site_to_dc (out) and received 5 MB/s dc_to_site (in), payload; a test on another link must not count.
    const input = [
      ...linkTerms('hsl', { capacityGbps: 1 }),
      series('linkmon_interface_bytes_total', { ...iface, direction: 'out' }, counter([[75e6, 30]], 60)),
      series('linkmon_interface_bytes_total', { ...iface, direction: 'in' }, counter([[25e6, 30]], 60)),
      series('linkmon_interface_bytes_total', { ...AGENT, device: 'r1', interface: 'lan', direction: 'out' }, counter([[100e6, 30]], 60)),
      series('linkmon_throughput_test_bytes_total', test('esb', 'hsl', 'site_to_dc'), counter([[10e6, 30]], 60)),
      series('linkmon_throughput_test_bytes_total', test('esb', 'hsl', 'dc_to_site'), counter([[5e6, 30]], 60)),
      series('linkmon_throughput_test_bytes_total', test('lambeth', 'wan', 'site_to_dc'), counter([[50e6, 30]], 60)),
    ];
    const overhead = alertsConfig.capacity.testTrafficOverhead;
    const out = (75e6 - overhead * 10e6) / GBPS_BYTES;
    const inbound = (25e6 - overhead * 5e6) / GBPS_BYTES;
    const file = promtoolFile('utilisation-test.yml', [rules], '1m', [
      {
        interval: '1m',
        input_series: input,
        promql_expr_test: [
          {
            expr: names.utilisationByDirection,
            eval_time: '10m',
            exp_samples: [
              { labels: `${names.utilisationByDirection}{direction="in",link="hsl"}`, value: inbound },
              { labels: `${names.utilisationByDirection}{direction="out",link="hsl"}`, value: out },
            ],
          },
          { expr: names.utilisation, eval_time: '10m', exp_samples: [{ labels: `${names.utilisation}{link="hsl"}`, value: out }] },
        ],
      },
    ], groupNames(groups));
    const { code, output } = promtool(file);
    expect(code, output).toBe(0);
  });

  it('agree with the tz database (Europe/London) on summer time and busy hours around every change, 2021-2040', () => {
    // Each expression is evaluated for a given instant (t) rather than promtool's clock, so any
    // year can be checked, against Intl's Europe/London: each change (the second before and at 01:00 UTC),
    // and the busy-hour boundaries on the Friday before and the Monday after it, plus the Saturday.
    const london = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hourCycle: 'h23', weekday: 'short', hour: '2-digit', timeZoneName: 'short' });
    const local = (t: number) => {
      const parts = Object.fromEntries(london.formatToParts(new Date(t * 1000)).map((p) => [p.type, p.value]));
      return { summer: parts.timeZoneName === 'BST' ? 1 : 0, hour: Number(parts.hour), weekday: parts.weekday ?? '' };
    };
    const { from, to } = alertsConfig.capacity.busyHours;
    const isBusy = (t: number) => {
      const l = local(t);
      return ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'].includes(l.weekday) && l.hour >= from && l.hour < to ? 1 : 0;
    };
    const instants: number[] = [];
    for (let year = 2021; year <= 2040; year++) {
      for (const month of [2, 9]) {
        const lastDay = Date.UTC(year, month, 31) / 1000;
        const lastSunday = lastDay - new Date(lastDay * 1000).getUTCDay() * 86400;
        instants.push(lastSunday + HOUR - 1, lastSunday + HOUR, lastSunday - 86400 + 12 * HOUR);
        for (const day of [lastSunday - 2 * 86400, lastSunday + 86400]) {
          for (const utcHour of [6, 7, 8, 16, 17, 18]) instants.push(day + utcHour * HOUR);
        }
      }
    }
    const tests: ExprTest[] = instants.flatMap((t) => [
      { expr: ukSummerTimeExpr(String(t)), eval_time: '0s', exp_samples: [{ labels: '{}', value: local(t).summer }] },
      { expr: busyHoursExpr(alertsConfig, String(t)), eval_time: '0s', exp_samples: [{ labels: '{}', value: isBusy(t) }] },
    ]);
    // The tz data must really change within each year, or the comparison proves nothing.
    expect(new Set(instants.map((t) => local(t).summer)).size).toBe(2);
    const file = promtoolFile('uk-time-test.yml', [], '1m', [{ interval: '1m', input_series: [], promql_expr_test: tests }], []);
    const { code, output } = promtool(file);
    expect(code, output.slice(0, 4000)).toBe(0);
  });

  it('record each aligned window once whatever the evaluation phase: traffic minus test traffic, max(in, out), gaps and failed polls excluded', () => {
    // Evaluated every minute, so each window is recorded five times, at T = end + 1m … end + 5m: the
    // same value each time, and only that window's traffic in it.
    const names = capacityNames(alertsConfig);
    const groups = inEvalOrder(capacityRuleGroups(alertsConfig).filter((g) => g.name === 'linkmon-capacity-windows.rules'));
    const rules = rulesFile('windows-rules.yml', groups);
    const G = GBPS_BYTES;
    const minute = 60;
    // Per minute: out at 50% of 1 Gbps, 95% in window [10m, 15m), 80% in [15m, 20m); the interface also
    // carries a test's 10 MB/s payload × 1.05 in [20m, 25m); the counter restarts from zero at 32m;
    // no samples in [40m, 45m]; a failed poll at 50m.
    const outRate = (m: number) => (m >= 10 && m < 15 ? 0.95 : m >= 15 && m < 20 ? 0.8 : 0.5) * G + (m >= 20 && m < 25 ? 1.05 * 10e6 : 0);
    const counterValues = (rate: (m: number) => number, resetAt?: number) => {
      const values: string[] = [];
      let total = 0;
      for (let m = 0; m <= 60; m++) {
        // Restarted at the previous sample: this one holds only the last minute.
        if (resetAt !== undefined && m === resetAt) total = 0;
        if (m > 0) total += rate(m - 1) * minute;
        values.push(m >= 40 && m <= 45 ? '_' : String(total));
      }
      return values.join(' ');
    };
    const test = { job: 'linkmon', instance: 'esb:9470', site: 'esb', target: 'responder', kind: 'throughput', link: 'hsl', direction: 'site_to_dc' };
    const input = [
      ...linkTerms('hsl', { capacityGbps: 1, steps: 60 }),
      series('linkmon_interface_bytes_total', { ...AGENT, device: 'r1', interface: 'hsl', direction: 'out' }, counterValues(outRate, 32)),
      series('linkmon_interface_bytes_total', { ...AGENT, device: 'r1', interface: 'hsl', direction: 'in' }, counterValues(() => 0.2 * G)),
      series('linkmon_throughput_test_bytes_total', test, `0x20 ${10e6 * minute}+${10e6 * minute}x4 ${10e6 * 5 * minute}x35`),
      series('linkmon_snmp_poll_failures_total', { ...AGENT, device: 'r1', reason: 'timeout' }, '0x50 1x10'),
    ];
    const at = (minutes: number) => `${minutes}m`;
    const sample = (name: string, labels: string, value: number) => ({ labels: `${name}{${labels}}`, value });
    /** The window [start, start + 5m) as recorded at every evaluation of [end + 1m, end + 5m]. */
    const window = (startMinute: number, out: number | undefined, inbound = 0.2): ExprTest[] =>
      [6, 7, 8, 9, 10].flatMap((after) => [
        {
          expr: names.windowByDirection,
          eval_time: at(startMinute + after),
          exp_samples: out === undefined ? [] : [sample(names.windowByDirection, 'direction="in",link="hsl"', inbound), sample(names.windowByDirection, 'direction="out",link="hsl"', out)],
        },
        { expr: names.window, eval_time: at(startMinute + after), exp_samples: out === undefined ? [] : [sample(names.window, 'link="hsl"', Math.max(out, inbound))] },
      ]);
    const above = (minutes: number, value: number, levels: string[]): ExprTest => ({
      expr: names.windowAbove,
      eval_time: at(minutes),
      exp_samples: levels.map((level) => ({ labels: `${names.windowAbove}{above="${level}",link="hsl"}`, value })),
    });
    const file = promtoolFile('windows-test.yml', [rules], '1m', [
      {
        interval: '1m',
        input_series: input,
        promql_expr_test: [
          ...window(5, 0.5),
          ...window(10, 0.95),
          ...window(15, 0.8),
          // The test's payload × 1.05 is taken off again.
          ...window(20, 0.5),
          // Prometheus counts a reset from zero: nothing lost when it falls on a sample.
          ...window(30, 0.5),
          // No samples: no value (never zero); the next window has too few samples for increase().
          ...window(40, undefined),
          // A failed poll at 50m: its window and the next do not count.
          ...window(45, 0.5),
          ...window(50, undefined),
          ...window(55, undefined),
          above(16, 0.95, ['0.7', '0.9']),
          above(21, 0.8, ['0.7']),
          { expr: names.windowAbove, eval_time: at(26), exp_samples: [] },
        ],
      },
    ], groupNames(groups));
    const { code, output } = promtool(file);
    expect(code, output.slice(0, 4000)).toBe(0);
  });

  it('record busy windows by the UK time of their start: 08:00 to 18:00 on weekdays', () => {
    // Thursday 1 January 1970 (GMT by the rules' formula), traffic at 40% all day, recorded every 5 minutes.
    const names = capacityNames(alertsConfig);
    const groups = inEvalOrder(capacityRuleGroups(alertsConfig).filter((g) => g.name === 'linkmon-capacity-windows.rules'));
    const rules = rulesFile('busy-rules.yml', groups);
    const minutes = 19 * 60;
    const hhmm = (h: number, m: number) => `${h * 60 + m}m`;
    const busy = (h: number, m: number, present: boolean): ExprTest => ({
      expr: names.windowBusy,
      eval_time: hhmm(h, m),
      exp_samples: present ? [{ labels: `${names.windowBusy}{link="hsl"}`, value: 0.4 }] : [],
    });
    const flag = (h: number, m: number, value: number): ExprTest => ({ expr: names.windowInBusyHours, eval_time: hhmm(h, m), exp_samples: [{ labels: names.windowInBusyHours, value }] });
    const file = promtoolFile('busy-test.yml', [rules], '5m', [
      {
        interval: '1m',
        input_series: [
          ...linkTerms('hsl', { capacityGbps: 1, steps: minutes }),
          series('linkmon_interface_bytes_total', { ...AGENT, device: 'r1', interface: 'hsl', direction: 'out' }, `0+${0.4 * GBPS_BYTES * 60}x${minutes}`),
          series('linkmon_interface_bytes_total', { ...AGENT, device: 'r1', interface: 'hsl', direction: 'in' }, `0+${0.1 * GBPS_BYTES * 60}x${minutes}`),
        ],
        // Recorded at T, a window started at T − 10m (promtool's evaluations fall on window ends).
        promql_expr_test: [
          busy(8, 5, false),
          flag(8, 5, 0),
          busy(8, 10, true),
          flag(8, 10, 1),
          busy(18, 5, true),
          busy(18, 10, false),
          flag(18, 10, 0),
        ],
      },
    ], groupNames(groups));
    const { code, output } = promtool(file);
    expect(code, output.slice(0, 4000)).toBe(0);
  });

  it('page LinkSaturated after 15 minutes above 95% with loss or a latency rise, and not for a spike or for busy-but-healthy', () => {
    const groups = inEvalOrder([...lossRuleGroups(alertsConfig), ...latencyRuleGroups(alertsConfig), ...capacityRuleGroups(alertsConfig)]);
    const rules = rulesFile('saturation-rules.yml', groups);
    const hslOut = { ...AGENT, device: 'r1', interface: 'hsl', direction: 'out' };
    const probe = { job: 'linkmon', instance: 'esb:9470', site: 'esb', target: 'caid', kind: 'icmp', link: 'hsl' };
    const minute = 60;
    /** An ICMP target across the HSL: 1 echo a second, `lossPerSecond` of them lost, per phase. */
    const probes = (phases: Array<[lossPerSecond: number, samples: number]>) => {
      const samples = phases.reduce((n, [, k]) => n + k, 0);
      return [
        series('linkmon_probe_attempts_total', probe, counter([[1, samples]], minute)),
        series('linkmon_probe_failures_total', { ...probe, reason: 'timeout' }, counter(phases, minute)),
      ];
    };
    /** Probe round trips: 1 a second, all under 10 ms or, when slow, all between 10 and 50 ms. */
    const latency = (phases: Array<[slow: boolean, samples: number]>) => {
      const samples = phases.reduce((n, [, k]) => n + k, 0);
      const all = counter([[1, samples]], minute);
      return [
        series('linkmon_probe_duration_seconds_bucket', { ...probe, le: '0.01' }, counter(phases.map(([slow, k]) => [slow ? 0 : 1, k]), minute)),
        series('linkmon_probe_duration_seconds_bucket', { ...probe, le: '0.05' }, all),
        series('linkmon_probe_duration_seconds_bucket', { ...probe, le: '+Inf' }, all),
        series('linkmon_probe_duration_seconds_count', probe, all),
      ];
    };
    const none = (evalTime: string): AlertTest => ({ eval_time: evalTime, alertname: 'LinkSaturated', exp_alerts: [] });
    const firing = (evalTime: string, utilisation: string, worstLoss: string): AlertTest => ({
      eval_time: evalTime,
      alertname: 'LinkSaturated',
      exp_alerts: [
        {
          exp_labels: { severity: 'page', link: 'hsl' },
          exp_annotations: {
            summary: 'The link is saturated: traffic is queued or dropped and users across it are affected.',
            description:
              `Link hsl is carrying ${utilisation} of its 1Gbit/s (busier direction, 5m rate, test traffic excluded; page above 95%) for at least 15m, ` +
              `and probes across it show loss (worst site ${worstLoss}) or a latency rise above 1.5× baseline.`,
            runbook_url: `${RUNBOOK}#linksaturated`,
          },
        },
      ],
    });
    const G = GBPS_BYTES;
    const file = promtoolFile('saturation-test.yml', [rules], '1m', [
      {
        // 50% of 1 Gbps, then 98% from 10m, with 5% loss from 10m. The 5m utilisation is 98% from 15m
        // (its window then starts at the last 50% sample), so the alert is pending from 15m and fires at 30m.
        interval: '1m',
        input_series: [...linkTerms('hsl', { capacityGbps: 1, steps: 60 }), series('linkmon_interface_bytes_total', hslOut, counter([[0.5 * G, 11], [0.98 * G, 50]], minute)), ...probes([[0, 11], [0.05, 50]])],
        alert_rule_test: [none('15m'), none('29m'), firing('30m', '98%', '5%'), firing('45m', '98%', '5%')],
      },
      {
        // The same with round trips rising from <10 ms to 10-50 ms at 120m instead of loss (2 hours of fast ones make the baseline).
        interval: '1m',
        input_series: [
          ...linkTerms('hsl', { capacityGbps: 1, steps: 200 }),
          series('linkmon_interface_bytes_total', hslOut, counter([[0.5 * G, 121], [0.98 * G, 60]], minute)),
          ...probes([[0, 181]]),
          ...latency([[false, 121], [true, 60]]),
        ],
        alert_rule_test: [none('139m'), firing('140m', '98%', '0%')],
      },
      {
        // A spike: 99% for 8 minutes (above 95% at the 5m rate for only 4), with loss throughout: no page.
        interval: '1m',
        input_series: [
          ...linkTerms('hsl', { capacityGbps: 1, steps: 60 }),
          series('linkmon_interface_bytes_total', hslOut, counter([[0.5 * G, 11], [0.99 * G, 8], [0.5 * G, 42]], minute)),
          ...probes([[0.05, 61]]),
        ],
        alert_rule_test: ['20m', '25m', '30m', '45m', '60m'].map(none),
      },
      {
        // Busy but healthy: 98% for 50 minutes with no loss and flat latency is not a page.
        interval: '1m',
        input_series: [
          ...linkTerms('hsl', { capacityGbps: 1, steps: 60 }),
          series('linkmon_interface_bytes_total', hslOut, counter([[0.98 * G, 61]], minute)),
          ...probes([[0, 61]]),
          ...latency([[false, 61]]),
        ],
        alert_rule_test: ['20m', '30m', '45m', '60m'].map(none),
      },
    ], groupNames(groups));
    const { code, output } = promtool(file);
    expect(code, output).toBe(0);
  });

  /** 1 January 1970 (promtool's day 0) was a Thursday. */
  const isWeekday = (day: number) => [1, 2, 3, 4, 5].includes((4 + day) % 7);
  /** Go's humanizePercentage: %.4g of the percentage. */
  const percentText = (ratio: number) => `${Number((ratio * 100).toPrecision(4))}%`;
  const dateText = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString().slice(0, 10);
  /** Every window recorded during a day's busy hours (08:00–18:00 UTC, GMT in winter), as recorded: at start + 10 m. */
  const FIRST_BUSY_RECORDING = (8 * 60 + 10) / 5;
  /** Busy windows of each weekday at `value(day)` (all 120 alike, or `count(day)` of them), at a 5-minute input interval. */
  function busyWindows(days: number, value: (day: number) => number, count: (day: number) => number = () => 120): string {
    const parts: string[] = [];
    for (let day = 0; day < days; day++) {
      const n = isWeekday(day) ? count(day) : 0;
      parts.push(n > 0 ? `_x${FIRST_BUSY_RECORDING} ${value(day)}x${n - 1} _x${288 - FIRST_BUSY_RECORDING - n}` : '_x288');
    }
    return parts.join(' ');
  }
  /** What the rule records as the rolling 30-day busy-hour p95 at `t`, from the same inputs. */
  function rollingP95(t: number, days: number, value: (day: number) => number, count: (day: number) => number = () => 120): number {
    const values: number[] = [];
    for (let day = 0; day < days; day++) {
      if (!isWeekday(day)) continue;
      for (let i = 0; i < count(day); i++) {
        const at = day * DAY + (FIRST_BUSY_RECORDING + i) * 300;
        if (at >= t - 30 * DAY && at <= t) values.push(value(day));
      }
    }
    return quantile(0.95, values);
  }
  const planningGroups = (config: AlertsConfig = alertsConfig) => inEvalOrder(capacityRuleGroups(config).filter((g) => g.name !== 'linkmon-capacity.rules'));
  /** The once-a-day rules at 00:00 UTC (yesterday's busy windows), so promtool can evaluate once a day. */
  const atMidnight: AlertsConfig = { ...alertsConfig, capacity: { ...alertsConfig.capacity, daily: { ...alertsConfig.capacity.daily, hourUtc: 0 } } };
  const recommendedAlert = (link: string, t: { p95: number; forecast: number; crossing: number | undefined; forecastThreshold?: string }): AlertTest['exp_alerts'][number] => ({
    exp_labels: { severity: 'ticket', link },
    exp_annotations: {
      summary: 'Order the next capacity step: sustained busy-hour demand on the link is close to its provisioned capacity.',
      description:
        `Link ${link} (1Gbit/s provisioned): 30d busy-hour p95 utilisation ${percentText(t.p95)} (threshold 70%); the 8w trend reaches ${percentText(t.forecast)} ` +
        `by the end of the lead time + 30d and crosses ${t.forecastThreshold ?? '80%'} on ${t.crossing === undefined ? 'no date (not rising)' : dateText(t.crossing)}. ` +
        'Recommended: 2Gbit/s (1 step(s)), adding £1500 a year and £500 one-off.',
      current_capacity: '1Gbit/s',
      p95: percentText(t.p95),
      forecast_crossing: t.crossing === undefined ? 'none' : dateText(t.crossing),
      recommended_capacity: '2Gbit/s',
      added_annual_cost: '£1500',
      runbook_url: `${RUNBOOK}#linkcapacitysteprecommended`,
    },
  });

  it('record one busy-hour p95 per weekday with half its busy windows, and fire the forecast rule the day least squares over 8 weeks crosses', () => {
    // Busy-hour demand rises by 0.6 points a day; day 12 (a Tuesday) lost 72 of its 120 busy windows.
    // Evaluated once a day at 00:00 (the daily rules moved there), each day's value is recorded the next midnight.
    const names = capacityNames(atMidnight);
    const groups = planningGroups(atMidnight);
    const rules = rulesFile('forecast-rules.yml', groups);
    const days = 40;
    const value = (day: number) => Number((0.2313 + 0.006 * day).toFixed(4));
    const count = (day: number) => (day === 12 ? 48 : 120);
    const daily = Array.from({ length: days }, (_, day) => day)
      .filter((day) => isWeekday(day) && count(day) >= 60)
      .map((day) => ({ day: (day + 1) * DAY, value: value(day) }));
    const fits = dailyFits(daily, { from: 0, to: days * DAY, hourUtc: 0, windowDays: 56, minPoints: alertsConfig.capacity.forecast.minPoints, horizonSeconds: 60 * DAY, threshold: 0.8 });
    const first = fits.find((f) => f.forecast > 0.8)!;
    expect(first, 'the input must cross').toBeDefined();
    // Crossed by the projection, not held back by the minimum of daily values.
    expect(fits[0]!.forecast).toBeLessThan(0.8);
    const at = (t: number) => `${t / 60}m`;
    const firing = first.t + DAY;
    const file = promtoolFile('forecast-test.yml', [rules], '1d', [
      {
        interval: '5m',
        input_series: [...linkTerms('grow', { capacityGbps: 1, steps: days * 288 }), series(names.windowBusy, { link: 'grow' }, busyWindows(days, value, count))],
        promql_expr_test: [
          // Once a day, from the day's busy windows; nothing for a weekend or for day 12.
          { expr: names.p95BusyDaily, eval_time: at(6 * DAY), exp_samples: [{ labels: `${names.p95BusyDaily}{link="grow"}`, value: value(5) }] },
          { expr: names.p95BusyDaily, eval_time: at(3 * DAY), exp_samples: [] },
          { expr: names.p95BusyDaily, eval_time: at(13 * DAY), exp_samples: [] },
        ],
        alert_rule_test: [
          { eval_time: at(first.t - DAY), alertname: 'LinkCapacityStepRecommended', exp_alerts: [] },
          // Pending from the day's fit, firing at the next evaluation (for: 1h).
          { eval_time: at(first.t), alertname: 'LinkCapacityStepRecommended', exp_alerts: [] },
          {
            eval_time: at(firing),
            alertname: 'LinkCapacityStepRecommended',
            exp_alerts: [recommendedAlert('grow', { p95: rollingP95(firing, days, value, count), forecast: fits.find((f) => f.t === firing)!.forecast, crossing: fits.find((f) => f.t === firing)!.crossing })],
          },
        ],
      },
    ], groupNames(groups));
    const { code, output } = promtool(file);
    expect(code, output.slice(0, 4000)).toBe(0);
  });

  it('fire the step rule the hour the rolling 30-day busy-hour p95 exceeds the recommend threshold', () => {
    // 50% until day 33, then 90%; a forecast threshold of 100% keeps the forecast rule out of it.
    const names = capacityNames(alertsConfig);
    const groups = planningGroups();
    const rules = rulesFile('step-rules.yml', groups);
    const days = 40;
    const value = (day: number) => (day < 33 ? 0.5 : 0.9);
    let onset = 0;
    for (let t = 33 * DAY; t < days * DAY && onset === 0; t += 3600) if (rollingP95(t, days, value) > 0.7) onset = t;
    const at = (t: number) => `${t / 60}m`;
    const daily = Array.from({ length: days }, (_, day) => day)
      .filter(isWeekday)
      .map((day) => ({ day: day * DAY, value: value(day) }));
    const fit = dailyFits(daily, { from: 0, to: days * DAY, hourUtc: 19, windowDays: 56, minPoints: alertsConfig.capacity.forecast.minPoints, horizonSeconds: 60 * DAY, threshold: 1 })
      .filter((f) => f.t <= onset + 3600)
      .at(-1)!;
    const file = promtoolFile('step-test.yml', [rules], '1h', [
      {
        interval: '5m',
        input_series: [...linkTerms('step', { capacityGbps: 1, steps: days * 288, forecast: 1 }), series(names.windowBusy, { link: 'step' }, busyWindows(days, value))],
        alert_rule_test: [
          { eval_time: at(onset), alertname: 'LinkCapacityStepRecommended', exp_alerts: [] },
          {
            eval_time: at(onset + 3600),
            alertname: 'LinkCapacityStepRecommended',
            exp_alerts: [recommendedAlert('step', { p95: rollingP95(onset + 3600, days, value), forecast: fit.forecast, crossing: fit.crossing, forecastThreshold: '100%' })],
          },
        ],
      },
    ], groupNames(groups));
    const { code, output } = promtool(file);
    expect(code, output.slice(0, 4000)).toBe(0);
  });

  it('recommend releasing a step of a 2 Gbps link whose daily busy-hour p95 fitted 1 Gbps for 90 days, never of a growing 1 Gbps link', () => {
    // Daily values as the daily rule records them (weekdays, here at 00:00): spare at 20% of 2 Gbps (40% of
    // 1 Gbps, under the unused 50%), grow rising from 30% of its single 1 Gbps step.
    const names = capacityNames(atMidnight);
    const groups = planningGroups(atMidnight).filter((g) => g.name !== 'linkmon-capacity-windows.rules');
    const rules = rulesFile('release-rules.yml', groups);
    const days = 93;
    const dailyInput = (value: (day: number) => number) => Array.from({ length: days }, (_, day) => (isWeekday(day) ? String(value(day)) : '_')).join(' ');
    const at = (t: number) => `${t / 60}m`;
    // The first value (day 0) is 90 days old on day 90: pending then, firing at the next evaluation.
    const firing = 91 * DAY;
    const file = promtoolFile('release-test.yml', [rules], '1d', [
      {
        interval: '1d',
        input_series: [
          ...linkTerms('spare', { capacityGbps: 2, steps: days }),
          series(names.p95BusyDaily, { link: 'spare' }, dailyInput(() => 0.2)),
          ...linkTerms('grow', { capacityGbps: 1, steps: days }),
          series(names.p95BusyDaily, { link: 'grow' }, dailyInput((day) => Number((0.3 + 0.005 * day).toFixed(3)))),
        ],
        promql_expr_test: [{ expr: names.oneStepLess, eval_time: at(90 * DAY), exp_samples: [{ labels: `${names.oneStepLess}{link="spare"}`, value: 0.4 }] }],
        alert_rule_test: [
          { eval_time: at(firing - DAY), alertname: 'LinkCapacityStepUnused', exp_alerts: [] },
          {
            eval_time: at(firing),
            alertname: 'LinkCapacityStepUnused',
            exp_alerts: [
              {
                exp_labels: { severity: 'info', link: 'spare' },
                exp_annotations: {
                  summary: 'One capacity step of the link has gone unused: releasing it would save its annual cost.',
                  description:
                    'Link spare (2Gbit/s provisioned): with one step less (2Gbit/s − 1Gbit/s) every daily busy-hour p95 of the last 90d would have been at or below 40% ' +
                    '(threshold 50%). Releasing the step saves £1500 a year.',
                  runbook_url: `${RUNBOOK}#linkcapacitystepunused`,
                },
              },
            ],
          },
        ],
      },
    ], groupNames(groups));
    const { code, output } = promtool(file);
    expect(code, output.slice(0, 4000)).toBe(0);
  });
});
