// The alerting mixin: generated rule files are current, valid and unit-tested alert by alert
// (promtool test rules alerts/tests/*.yml), every alert has a runbook heading, and the shipped
// Alertmanager and Prometheus configs pass amtool/promtool. Needs the Debian packages prometheus
// (promtool) and prometheus-alertmanager (amtool), see scripts/test-host-setup.sh. No root.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { capacityRuleGroups } from '../../alerts/src/capacity.js';
import { alertsConfig } from '../../alerts/src/config.js';
import { renderRuleFiles } from '../../alerts/src/render.js';
import type { AlertingRule, RuleGroup } from '../../alerts/src/types.js';
import { parsePromql } from '../dashboards/dashboard-queries.js';
import { REPO_ROOT } from '../support/linkmon-process.js';

const GENERATED = join(REPO_ROOT, 'alerts', 'generated');
const TESTS = join(REPO_ROOT, 'alerts', 'tests');

function run(argv: string[]): { code: number | null; output: string } {
  const result = spawnSync(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Like run(), without blocking the event loop, so several promtool runs share the two cores. */
function runAsync(argv: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO_ROOT });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function groupsOf(file: string): RuleGroup[] {
  return (parse(readFileSync(file, 'utf8')) as { groups: RuleGroup[] }).groups;
}

function generatedGroups(): RuleGroup[] {
  return readdirSync(GENERATED)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .flatMap((f) => groupsOf(join(GENERATED, f)));
}

function generatedAlerts(): AlertingRule[] {
  return generatedGroups().flatMap((g) => g.rules.filter((r): r is AlertingRule => 'alert' in r));
}

interface AlertRuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[];
}
interface PromtoolTestFile {
  rule_files: string[];
  group_eval_order?: string[];
  tests: { alert_rule_test?: AlertRuleTest[] }[];
}

const testFiles = readdirSync(TESTS)
  .filter((f) => f.endsWith('.yml'))
  .sort();
const alertRuleTests = (): AlertRuleTest[] =>
  testFiles.flatMap((f) => (parse(readFileSync(join(TESTS, f), 'utf8')) as PromtoolTestFile).tests.flatMap((t) => t.alert_rule_test ?? []));

describe('alerts/generated', () => {
  it('is exactly what alerts/src generates from alerts/src/config.ts (run `npx tsx alerts/src/generate.ts`)', () => {
    const rendered = renderRuleFiles(alertsConfig);
    const committed = readdirSync(GENERATED).filter((f) => f.endsWith('.yml'));
    expect(committed.sort()).toEqual(Object.keys(rendered).sort());
    for (const [name, text] of Object.entries(rendered)) expect(readFileSync(join(GENERATED, name), 'utf8'), name).toBe(text);
  });

  it('passes promtool check rules (syntax, types, duplicate-rule lint)', () => {
    const files = readdirSync(GENERATED).filter((f) => f.endsWith('.yml')).map((f) => join(GENERATED, f));
    const { code, output } = run(['promtool', 'check', 'rules', ...files]);
    expect(output).not.toMatch(/FAILED|WARNING/);
    expect(code, output).toBe(0);
  });

  it('uses only metrics of the contract (docs/metrics.md), recording rules and `up`', () => {
    const documented = new Set([...readFileSync(join(REPO_ROOT, 'docs', 'metrics.md'), 'utf8').matchAll(/^\| `(linkmon_[a-z0-9_]+)` \|/gm)].map((m) => m[1]!));
    const groups = generatedGroups();
    const recorded = new Set(groups.flatMap((g) => g.rules.flatMap((r) => ('record' in r ? [r.record] : []))));
    const unknown = new Set<string>();
    for (const rule of groups.flatMap((g) => g.rules)) {
      const { errors, metrics } = parsePromql(rule.expr);
      expect(errors, rule.expr).toEqual([]);
      for (const name of metrics) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        if (name !== 'up' && !recorded.has(name) && !documented.has(name) && !documented.has(base)) unknown.add(name);
      }
    }
    expect([...unknown].sort()).toEqual([]);
  });

  it('gives every alert a severity, a `for`, a fixed summary, a templated description and a runbook heading', () => {
    for (const alert of generatedAlerts()) {
      const where = `${alert.alert} (${alert.expr.slice(0, 60)}…)`;
      expect(['page', 'ticket', 'info'], where).toContain(alert.labels.severity);
      expect(alert.for, where).toMatch(/^\d+[smhd]$/);
      expect(alert.annotations.summary, where).not.toContain('{{');
      expect(alert.annotations.description, where).toContain('{{');
      const url = new URL(alert.annotations.runbook_url);
      const prefix = `${alertsConfig.runbookBaseUrl}/`;
      expect(alert.annotations.runbook_url.startsWith(prefix), where).toBe(true);
      const file = join(REPO_ROOT, 'docs', 'runbooks', alert.annotations.runbook_url.slice(prefix.length).replace(/#.*$/, ''));
      expect(existsSync(file), `${where}: runbook ${file}`).toBe(true);
      const headings = readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('## '))
        .map((line) => `#${line.slice(3).trim().toLowerCase()}`);
      expect(headings, `${where}: heading for ${url.hash} in ${file}`).toContain(url.hash);
    }
  });
});

describe('alerts/tests (promtool test rules)', () => {
  it.concurrent.each(testFiles)('%s passes', async (file) => {
    const { code, output } = await runAsync(['promtool', 'test', 'rules', join(TESTS, file)]);
    expect(code, output).toBe(0);
  });

  it('assert every alert silent before its `for` and firing after, with every label and annotation', () => {
    const tests = alertRuleTests();
    // The capacity area's scenarios are built in test/alerts/capacity-rules.test.ts.
    const capacityAlerts = new Set(capacityRuleGroups(alertsConfig).flatMap((g) => g.rules.flatMap((r) => ('alert' in r ? [r.alert] : []))));
    for (const name of new Set(generatedAlerts().map((a) => a.alert))) {
      if (capacityAlerts.has(name)) continue;
      const own = tests.filter((t) => t.alertname === name);
      expect(own.some((t) => (t.exp_alerts ?? []).length === 0), `${name}: a test where it must not fire`).toBe(true);
      const firing = own.flatMap((t) => t.exp_alerts ?? []);
      expect(firing.length, `${name}: a test where it fires`).toBeGreaterThan(0);
      for (const alert of firing) {
        expect(alert.exp_labels?.severity, `${name}: severity asserted`).toBeDefined();
        expect(Object.keys(alert.exp_annotations ?? {}).sort(), `${name}: every annotation asserted`).toEqual(['description', 'runbook_url', 'summary']);
      }
    }
  });

  it('evaluate recording rules before alerts (group_eval_order lists every group loaded)', () => {
    for (const f of testFiles) {
      const test = parse(readFileSync(join(TESTS, f), 'utf8')) as PromtoolTestFile;
      const groups = test.rule_files.flatMap((rules) => groupsOf(join(TESTS, rules)));
      const recording = groups.filter((g) => g.rules.every((r) => 'record' in r)).map((g) => g.name);
      const order = test.group_eval_order ?? [];
      expect([...order].sort(), f).toEqual(groups.map((g) => g.name).sort());
      expect(order.slice(0, recording.length).sort(), `${f}: recording groups first`).toEqual([...recording].sort());
    }
  });
});

describe('alertmanager/alertmanager.yml', () => {
  const file = join(REPO_ROOT, 'alertmanager', 'alertmanager.yml');

  it('passes amtool check-config', () => {
    const { code, output } = run(['amtool', 'check-config', file]);
    expect(code, output).toBe(0);
  });

  it('routes every severity to its own receiver and inhibits only with alerts that exist', () => {
    const config = parse(readFileSync(file, 'utf8')) as {
      route: { group_by: string[]; routes: { matchers: string[]; receiver: string }[] };
      inhibit_rules: { source_matchers: string[] }[];
    };
    expect(config.route.group_by).toEqual(['alertname', 'site', 'link']);
    expect(config.route.routes.map((r) => [r.matchers, r.receiver])).toEqual([
      [['severity="page"'], 'page'],
      [['severity="ticket"'], 'ticket'],
      [['severity="info"'], 'info'],
    ]);
    const names = new Set(generatedAlerts().map((a) => a.alert));
    for (const rule of config.inhibit_rules) {
      const source = /^alertname="(\w+)"$/.exec(rule.source_matchers[0] ?? '')?.[1];
      expect(source && names.has(source), `inhibit source ${rule.source_matchers.join(',')}`).toBe(true);
    }
  });
});

describe('prometheus/prometheus.yml', () => {
  it('passes promtool check config, which also checks the rule files and targets/agents.yml', () => {
    const { code, output } = run(['promtool', 'check', 'config', join(REPO_ROOT, 'prometheus', 'prometheus.yml')]);
    expect(output).toContain('SUCCESS');
    expect(output).not.toMatch(/FAILED|WARNING/);
    expect(code, output).toBe(0);
  });

  it('lists the 14 site agents, each with a distinct site label', () => {
    const targets = parse(readFileSync(join(REPO_ROOT, 'prometheus', 'targets', 'agents.yml'), 'utf8')) as { targets: string[]; labels: { site: string } }[];
    const sites = targets.map((t) => t.labels.site);
    expect(sites).toHaveLength(14);
    expect(new Set(sites).size).toBe(14);
    expect(sites).toEqual(expect.arrayContaining(['esb', 'lambeth']));
    expect(sites.filter((s) => s.startsWith('bcu_'))).toHaveLength(12);
    for (const t of targets) expect(t.targets).toHaveLength(1);
  });
});
