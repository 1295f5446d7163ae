import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AgentMetrics, LATENCY_BUCKETS, extraLabelNames } from '../../../agent/metrics.js';
import type { TargetConfig } from '../../../agent/config/schema.js';

const GOLDEN = join(import.meta.dirname, '../../fixtures/agent/metrics.golden.txt');

function buildRegistry() {
  const registry = new Registry();
  registry.setDefaultLabels({ site: 'esb' });
  const targets: TargetConfig[] = [
    { name: 'hsl-far-end', module: 'icmp', host: '198.18.200.1', labels: { link: 'hsl' } },
    { name: 'caid-portal', module: 'web', url: 'https://198.18.200.21/health', labels: {} },
  ];
  const metrics = new AgentMetrics(registry, extraLabelNames(targets));
  const icmp = { target: 'hsl-far-end', kind: 'icmp', link: 'hsl' };
  const http = { target: 'caid-portal', kind: 'http' };
  metrics.addTarget(icmp);
  metrics.addTarget(http);
  for (const labels of [icmp, icmp, http]) metrics.attemptStarted(labels);
  metrics.recordAttempt(icmp, { ok: true, durationSeconds: 0.0042 }, 0.0001, 1_700_000_000);
  metrics.recordAttempt(icmp, { ok: false, reason: 'timeout', detail: 'no reply' }, undefined, 1_700_000_001);
  metrics.recordAttempt(
    http,
    { ok: true, durationSeconds: 0.05, http: { statusCode: 200, phaseSeconds: { resolve: 0.001, connect: 0.004, tls: 0.01, processing: 0.03, transfer: 0.005 }, certExpirySeconds: 1_800_000_000 } },
    undefined,
    1_700_000_002,
  );
  metrics.configReloadSuccessful.set(1);
  metrics.configReloadTimestamp.set(1_700_000_000);
  metrics.proberAvailable.set({ kind: 'icmp' }, 1);
  return { registry, metrics, icmp };
}

/** The build info line carries the package and Node versions, which change under the golden file. */
const normalise = (text: string) => text.replace(/^linkmon_build_info\{.*$/m, 'linkmon_build_info{<versions>} 1');

describe('exporter output', () => {
  it('matches the golden exposition', async () => {
    const { registry } = buildRegistry();
    const text = normalise(await registry.metrics());
    if (process.env.UPDATE_GOLDEN === '1') (await import('node:fs')).writeFileSync(GOLDEN, text);
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('removes every series of a removed target', async () => {
    const { registry, metrics, icmp } = buildRegistry();
    metrics.removeTarget(icmp);
    const text = await registry.metrics();
    expect(text).not.toContain('hsl-far-end');
    expect(text).toContain('caid-portal');
  });

  it('counts a lost echo as an attempt and a failure, and observes only replies', async () => {
    const { registry } = buildRegistry();
    const text = await registry.metrics();
    expect(text).toContain('linkmon_probe_attempts_total{target="hsl-far-end",kind="icmp",link="hsl",site="esb"} 2');
    expect(text).toContain('linkmon_probe_failures_total{target="hsl-far-end",kind="icmp",link="hsl",reason="timeout",site="esb"} 1');
    expect(text).toContain('linkmon_probe_duration_seconds_count{site="esb",target="hsl-far-end",kind="icmp",link="hsl"} 1');
  });
});

describe('latency buckets', () => {
  it('run from 100 µs to 5 s in increasing order', () => {
    expect(LATENCY_BUCKETS[0]).toBe(0.0001);
    expect(LATENCY_BUCKETS.at(-1)).toBe(5);
    for (let i = 1; i < LATENCY_BUCKETS.length; i += 1) expect(LATENCY_BUCKETS[i]!).toBeGreaterThan(LATENCY_BUCKETS[i - 1]!);
  });

  it('are at most 2.1% apart between 1 ms and 200 ms, so even p95 of samples in one bucket is within 2%', () => {
    const dense = LATENCY_BUCKETS.filter((b) => b >= 0.001 && b <= 0.2);
    for (let i = 1; i < dense.length; i += 1) expect(dense[i]! / dense[i - 1]!).toBeLessThanOrEqual(1.021);
  });
});
