// promtool unit tests of the capacity rules (alerts/src/capacity.ts): utilisation with test traffic
// subtracted, UK busy hours across both BST changes, the step recommendation (30-day p95 and
// forecast), the unused step and LinkSaturated. The scenarios are built here, next to the numbers
// they derive from, and run with `promtool test rules`. Needs the Debian package prometheus (promtool). No root.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { busyHoursExpr, capacityNames, capacityRuleGroups, ukSummerTimeExpr } from '../../alerts/src/capacity.js';
import { alertsConfig, type AlertsConfig } from '../../alerts/src/config.js';
import { latencyRuleGroups } from '../../alerts/src/latency.js';
import { lossRuleGroups } from '../../alerts/src/loss.js';
import type { RuleGroup } from '../../alerts/src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'linkmon-capacity-rules-'));
afterAll(() => (process.env.KEEP_RULE_TESTS ? undefined : rmSync(dir, { recursive: true, force: true })));

const HOUR = 3600;
const GBPS_BYTES = 125e6;
const AGENT = { job: 'linkmon', instance: 'dc:9470', site: 'dc' };
const RUNBOOK = `${alertsConfig.runbookBaseUrl}/capacity.md`;
/** Days of 1970 (promtool's clock starts at 0, a Thursday). */
const [FRI_27_MAR, SUN_29_MAR, MON_30_MAR] = [85, 87, 88];

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

describe('capacity rules (promtool test rules)', () => {
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
    // Each expression is evaluated for a given instant (vector(t)) rather than promtool's clock, so any
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
    const tests: ExprTest[] = instants.flatMap((t) => {
      const at = `vector(${t})`;
      const summer = ukSummerTimeExpr(at);
      return [
        { expr: summer, eval_time: '0s', exp_samples: [{ labels: '{}', value: local(t).summer }] },
        { expr: busyHoursExpr(alertsConfig, `(${summer})`, at), eval_time: '0s', exp_samples: [{ labels: '{}', value: isBusy(t) }] },
      ];
    });
    // The tz data must really change within each year, or the comparison proves nothing.
    expect(new Set(instants.map((t) => local(t).summer)).size).toBe(2);
    const file = promtoolFile('uk-time-test.yml', [], '1m', [{ interval: '1m', input_series: [], promql_expr_test: tests }], []);
    const { code, output } = promtool(file);
    expect(code, output.slice(0, 4000)).toBe(0);
  });

  it('record busy-hour utilisation only in UK busy hours, across the March BST change', () => {
    // A 1h rate window lets hourly counter samples give a utilisation to filter.
    const config: AlertsConfig = { ...alertsConfig, capacity: { ...alertsConfig.capacity, window: '1h' } };
    const names = capacityNames(config);
    const groups = capacityRuleGroups(config).filter((g) => g.name === 'linkmon-capacity.rules');
    const rules = rulesFile('busy-hours-rules.yml', groups);
    const at = (day: number, hour: number) => `${day * 24 + hour}h`;
    const hours = (MON_30_MAR + 1) * 24;
    const expect0 = (name: string, evalTime: string, value: number): ExprTest => ({ expr: name, eval_time: evalTime, exp_samples: [{ labels: name, value }] });
    const busyUtilisation = (evalTime: string, present: boolean): ExprTest => ({
      expr: names.utilisationBusy,
      eval_time: evalTime,
      exp_samples: present ? [{ labels: `${names.utilisationBusy}{link="hsl"}`, value: 0.4 }] : [],
    });
    const file = promtoolFile('busy-hours-test.yml', [rules], '1h', [
      {
        interval: '1h',
        input_series: [
          ...linkTerms('hsl', { capacityGbps: 1, steps: hours }),
          series('linkmon_interface_bytes_total', { ...AGENT, device: 'r1', interface: 'hsl', direction: 'out' }, counter([[0.4 * GBPS_BYTES, hours]], HOUR)),
        ],
        promql_expr_test: [
          expect0(names.ukSummerTime, at(SUN_29_MAR, 0), 0),
          expect0(names.ukSummerTime, at(SUN_29_MAR, 1), 1),
          busyUtilisation(at(FRI_27_MAR, 7), false),
          busyUtilisation(at(FRI_27_MAR, 8), true),
          busyUtilisation(at(FRI_27_MAR, 17), true),
          busyUtilisation(at(FRI_27_MAR, 18), false),
          busyUtilisation(at(SUN_29_MAR, 12), false),
          busyUtilisation(at(MON_30_MAR, 6), false),
          busyUtilisation(at(MON_30_MAR, 7), true),
          busyUtilisation(at(MON_30_MAR, 16), true),
          busyUtilisation(at(MON_30_MAR, 17), false),
        ],
      },
    ], groupNames(groups));
    const { code, output } = promtool(file);
    expect(code, output).toBe(0);
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

  it('recommend a step from the 30-day busy-hour p95 or the 8-week forecast at the right evaluation, and not for flat demand or spikes', () => {
    // The percentile group is evaluated every 6h here (5m in production) to keep promtool's run short;
    // the input is the busy-hour utilisation series itself, sampled every 6h (the UK busy-hour filter is
    // tested above). Percentiles of a linear series are exact at any sampling step that divides the windows.
    const STEP = 6;
    const config: AlertsConfig = { ...alertsConfig, capacity: { ...alertsConfig.capacity, longEvaluationInterval: `${STEP}h` } };
    const names = capacityNames(config);
    const groups = inEvalOrder(capacityRuleGroups(config).filter((g) => g.name !== 'linkmon-capacity.rules'));
    const rules = rulesFile('planning-rules.yml', groups);
    const samples = (hours: number) => hours / STEP + 1;
    const utilisation = (link: string, values: string) => [series(names.utilisationBusy, { link }, values), series(names.utilisation, { link }, values)];
    const none = (alertname: string, evalTime: string): AlertTest => ({ eval_time: evalTime, alertname, exp_alerts: [] });
    const recommended = (evalTime: string, link: string, v: { p95: string; forecast: string; crossing: string; threshold?: string }): AlertTest => ({
      eval_time: evalTime,
      alertname: 'LinkCapacityStepRecommended',
      exp_alerts: [
        {
          exp_labels: { severity: 'ticket', link },
          exp_annotations: {
            summary: 'Order the next capacity step: sustained busy-hour demand on the link is close to its provisioned capacity.',
            description:
              `Link ${link} (1Gbit/s provisioned): 30d busy-hour p95 utilisation ${v.p95} (threshold 70%); the 8w trend reaches ${v.forecast} ` +
              `by the end of the lead time + 30d and crosses ${v.threshold ?? '80%'} on ${v.crossing}. Recommended: 2Gbit/s (1 step(s)), ` +
              'adding £1500 a year and £500 one-off.',
            current_capacity: '1Gbit/s',
            p95: v.p95,
            forecast_crossing: v.crossing === 'no date (not rising)' ? 'none' : v.crossing,
            recommended_capacity: '2Gbit/s',
            added_annual_cost: '£1500',
            runbook_url: `${RUNBOOK}#linkcapacitysteprecommended`,
          },
        },
      ],
    });
    // Forecast: utilisation u(t) = 0.189 + 0.0002/h × t. Its daily p95 is u(t − 1.2h), the 7-day median of
    // that u(t − 85.2h), exactly linear once the 8-week fit window holds no warm-up (t ≥ 1536h). The
    // forecast for t + 30d lead time + 30d margin is u(t − 85.2h + 1440h): above 0.8 from t = 1700.2h, so
    // from the 1704h evaluation (1698h gives 79.96%), and `for: 1h` fires at the next one, 1710h: the
    // 30-day p95 u(t − 36h) is then 52.38%, the forecast 80.2%, and the trend crosses 80% at 3140.2h = 1970-05-11.
    const growthHours = 1716;
    const growth = {
      interval: `${STEP}h`,
      input_series: [...linkTerms('hsl', { capacityGbps: 1, steps: samples(growthHours) }), ...utilisation('hsl', `0.189+${0.0002 * STEP}x${samples(growthHours) - 1}`)],
      alert_rule_test: [
        none('LinkCapacityStepRecommended', '1536h'),
        none('LinkCapacityStepRecommended', '1704h'),
        recommended('1710h', 'hsl', { p95: '52.38%', forecast: '80.2%', crossing: '1970-05-11' }),
      ],
    };
    // 30-day p95: 50% until 1002h, then 90%. Of the 121 samples in 30 days the p95 is the 115th smallest,
    // which is 90% once 7 samples are: at 1038h (pending), firing at 1044h. The trend is flat (forecast
    // 50%); a forecast threshold of 100% keeps it out of the decision.
    const stepChange = {
      interval: `${STEP}h`,
      input_series: [...linkTerms('hsl', { capacityGbps: 1, steps: samples(1050), forecast: 1 }), ...utilisation('hsl', `0.5x${samples(1002) - 2} 0.9x${samples(1050) - samples(1002)}`)],
      alert_rule_test: [
        none('LinkCapacityStepRecommended', '1038h'),
        recommended('1044h', 'hsl', { p95: '90%', forecast: '50%', crossing: 'no date (not rising)', threshold: '100%' }),
      ],
    };
    // Flat 65% for ten weeks never recommends; nor do single-sample spikes to 100% on day 16 (while the
    // forecast has only two weeks of history) and day 62.
    const flatHours = 1704;
    const spikeAt = [384, 1488];
    const spiky = `0.5x${samples(spikeAt[0]!) - 2} 1 0.5x${samples(spikeAt[1]!) - samples(spikeAt[0]!) - 2} 1 0.5x${samples(flatHours) - samples(spikeAt[1]!) - 1}`;
    const flatAndSpikes = {
      interval: `${STEP}h`,
      input_series: [
        ...linkTerms('flat', { capacityGbps: 1, steps: samples(flatHours) }),
        ...utilisation('flat', `0.65x${samples(flatHours) - 1}`),
        ...linkTerms('spiky', { capacityGbps: 1, steps: samples(flatHours) }),
        ...utilisation('spiky', spiky),
      ],
      alert_rule_test: ['390h', '420h', '480h', '816h', '1200h', '1494h', '1524h', '1704h'].flatMap((t) => [
        none('LinkCapacityStepRecommended', t),
        none('LinkCapacityStepUnused', t),
      ]),
    };
    // Unused: 3 Gbps at 30% busy-hour p95; with one step less that is 45%, under 50%. True once the
    // one-step-less series has 90 days of history (2160h), firing one evaluation later.
    const unusedHours = 2172;
    const unused = {
      interval: `${STEP}h`,
      input_series: [...linkTerms('spare', { capacityGbps: 3, steps: samples(unusedHours) }), ...utilisation('spare', `0.3x${samples(unusedHours) - 1}`)],
      alert_rule_test: [
        none('LinkCapacityStepUnused', '2160h'),
        none('LinkCapacityStepRecommended', '2166h'),
        {
          eval_time: '2166h',
          alertname: 'LinkCapacityStepUnused',
          exp_alerts: [
            {
              exp_labels: { severity: 'info', link: 'spare' },
              exp_annotations: {
                summary: 'One capacity step of the link has gone unused: removing it would save its annual cost.',
                description:
                  'Link spare (3Gbit/s provisioned): with one step less (3Gbit/s − 1Gbit/s) the 30d busy-hour p95 would have stayed at or below 45% for 90d ' +
                  '(threshold 50%). Removing the step saves £1500 a year.',
                runbook_url: `${RUNBOOK}#linkcapacitystepunused`,
              },
            },
          ],
        },
      ],
    };
    const file = promtoolFile('planning-test.yml', [rules], `${STEP}h`, [growth, stepChange, flatAndSpikes, unused], groupNames(groups));
    const { code, output } = promtool(file);
    expect(code, output).toBe(0);
  });
});
