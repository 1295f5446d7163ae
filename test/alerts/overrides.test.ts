// A user's overrides of the mixin config (alerts/src/overrides.ts): what they change, and a clear
// error naming the field for everything they may not.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { alertsConfig } from '../../alerts/src/config.js';
import { applyOverrides, loadMixinConfig } from '../../alerts/src/overrides.js';
import { renderRuleFiles } from '../../alerts/src/render.js';
import { ConfigError } from '../../lib/config-file.js';
import { REPO_ROOT } from '../support/linkmon-process.js';

const problemsOf = (overrides: Record<string, unknown>): string[] => {
  try {
    applyOverrides(alertsConfig, overrides, 'overrides.json');
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
};

describe('mixin overrides', () => {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-overrides-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('change only what they name, at any depth; new links join per-link tables; lists are replaced whole', () => {
    const config = applyOverrides(
      alertsConfig,
      {
        agentSelector: 'job="site-agents", env!="lab"',
        runbookBaseUrl: 'https://wiki.example.test/linkmon/',
        loss: { thresholds: { hsl: { short: 0.03 }, psn: { short: 0.1, long: 0.02 } } },
        latency: { kinds: ['icmp', 'tcp'] },
        slo: { page: { windows: [{ long: '2h', short: '10m', factor: 10 }] } },
      },
      'overrides.json',
    );
    expect(config.agentSelector).toBe('job="site-agents", env!="lab"');
    expect(config.runbookBaseUrl).toBe('https://wiki.example.test/linkmon');
    expect(config.loss.thresholds).toEqual({ ...alertsConfig.loss.thresholds, hsl: { short: 0.03, long: alertsConfig.loss.thresholds.hsl!.long }, psn: { short: 0.1, long: 0.02 } });
    expect(config.latency.kinds).toEqual(['icmp', 'tcp']);
    expect(config.slo.page.windows).toEqual([{ long: '2h', short: '10m', factor: 10 }]);
    expect(config.reachability).toEqual(alertsConfig.reachability);
    expect(alertsConfig.agentSelector).toBe('job="linkmon"');
    const rules = Object.values(renderRuleFiles(config)).join('');
    expect(rules).toContain('up{job="site-agents", env!="lab"}');
    expect(rules).toContain('https://wiki.example.test/linkmon/reachability.md#linkmonhsldown');
  });

  it('without any override, give exactly the default rules', () => {
    expect(renderRuleFiles(applyOverrides(alertsConfig, {}, 'empty.json'))).toEqual(renderRuleFiles(alertsConfig));
  });

  it('name the field and what was expected for each bad value', () => {
    expect(
      problemsOf({
        agentSelecter: 'job="x"',
        agentSelector: 'linkmon',
        runbookBaseUrl: 'wiki/runbooks',
        loss: { short: { window: '5 minutes', for: 10 }, thresholds: { 'bad link!': { short: 1 } } },
        latency: { kinds: ['icmp', 'throughput'] },
        slo: { page: { windows: [{ long: '2h' }] }, ticket: 'fast' },
        capacity: { busyHours: { days: [] } },
      }),
    ).toEqual([
      `agentSelecter: unknown field; expected one of ${Object.keys(alertsConfig).join(', ')}`,
      'agentSelector: expected label matchers such as job="linkmon-agents" (as inside {…}), got "linkmon"',
      'runbookBaseUrl: expected an http(s) URL of the folder holding the runbooks (docs/runbooks), got "wiki/runbooks"',
      'loss.short.window: expected a Prometheus duration such as "30s", "5m" or "1h30m", got "5 minutes"',
      'loss.short.for: expected a non-empty string, got number 10',
      'loss.thresholds.bad link!: unknown field (a link name is 1-64 letters, digits, "_", ".", ":" or "-")',
      'latency.kinds[1]: expected one of icmp, tcp, http, udp, dns, got "throughput"',
      'slo.page.windows[0]: expected every field of an entry, missing short, factor',
      'slo.ticket: expected a mapping, got "fast"',
      'capacity.busyHours.days: expected a non-empty list, got a list',
    ]);
  });

  it('read YAML or JSON; the generator exits 2 with the problems, without a stack trace', async () => {
    const good = join(dir, 'overrides.yaml');
    writeFileSync(good, 'agentSelector: job="agents"\nreachability:\n  for: 2m\n');
    expect((await loadMixinConfig(good)).reachability.for).toBe('2m');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ reachability: { for: 'soon' } }));
    const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'alerts/src/generate.ts', '--config', bad, '--out', join(dir, 'out')], { cwd: REPO_ROOT }).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(run).toMatchObject({ code: 2, stderr: `invalid config ${bad}:\n  - reachability.for: expected a Prometheus duration such as "30s", "5m" or "1h30m", got "soon"\n` });
  });
});
