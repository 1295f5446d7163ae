import { Counter, Gauge, Histogram, Registry, type OpenMetricsContentType } from 'prom-client';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { FastRegistry } from '../../../lib/metrics/fast-registry.js';
import { AgentMetrics, LATENCY_BUCKETS } from '../../../agent/metrics.js';

/** Builds the same metrics on a plain and a fast registry and returns both expositions. */
async function both(populate: (registry: Registry) => void | Promise<void>): Promise<{ plain: string; fast: string }> {
  const plain = new Registry();
  const fast = new FastRegistry();
  await populate(plain);
  await populate(fast);
  return { plain: await plain.metrics(), fast: await fast.metrics() };
}

describe('FastRegistry', () => {
  it('formats AgentMetrics byte for byte as prom-client does', async () => {
    const { plain, fast } = await both((registry) => {
      registry.setDefaultLabels({ site: 'esb' });
      const metrics = new AgentMetrics(registry, ['link']);
      const targets = ['hsl', 'wan', 'gone'].map((target) => ({ target, kind: 'icmp', link: target === 'hsl' ? 'hsl' : 'wan' }));
      for (const labels of targets) metrics.addTarget(labels);
      [0.00005, 0.0123, 0.0123, 0.2, 7].forEach((rtt) => metrics.recordAttempt(targets[0]!, { ok: true, durationSeconds: rtt }, 0.001, 1_700_000_000));
      metrics.recordAttempt(targets[1]!, { ok: false, reason: 'timeout', detail: 'x' }, undefined, 1_700_000_000);
      metrics.removeTarget(targets[2]!);
    });
    expect(fast).toContain(`linkmon_probe_duration_seconds_bucket{le="${LATENCY_BUCKETS[0]}",site="esb",target="hsl",kind="icmp",link="hsl"} 1`);
    expect(fast).toBe(plain);
  });

  it('matches without default labels, with a series label shadowing a default, and with escaping', async () => {
    for (const defaults of [undefined, { site: 'lambeth', zone: 'a' }]) {
      const { plain, fast } = await both((registry) => {
        if (defaults) registry.setDefaultLabels(defaults);
        const histogram = new Histogram({ name: 'h_seconds', help: 'two\nlines \\ here', labelNames: ['site', 'path'], buckets: [0.1, 1, 5], registers: [registry] });
        histogram.observe({ site: 'override', path: 'quote " back \\ nl \n' }, 0.5);
        histogram.observe({ path: 'no-site' }, 3);
        histogram.zero({ site: 's', path: 'zeroed' });
        new Histogram({ name: 'unlabelled_seconds', help: 'h', buckets: [1], registers: [registry] }).observe(2);
        new Histogram({ name: 'empty_seconds', help: 'h', buckets: [1], registers: [registry] });
        new Counter({ name: 'c_total', help: 'c', registers: [registry] }).inc();
        const counter = new Counter({ name: 'labelled_total', help: 'l', labelNames: ['site', 'k'], registers: [registry] });
        counter.inc({ k: 'a"b' }, 2);
        counter.inc({ site: 'own', k: 'c' });
        const gauge = new Gauge({ name: 'g', help: 'g', labelNames: ['k'], registers: [registry] });
        gauge.set({ k: 'x' }, Number.NaN);
        gauge.set({ k: 'y' }, Number.NEGATIVE_INFINITY);
        gauge.set({ k: 'x' }, 0.25);
      });
      expect(fast).toBe(plain);
    }
  });

  it('picks up new observations, zeroed series and changed default labels between scrapes', async () => {
    const plain = new Registry();
    const fast = new FastRegistry();
    const make = (registry: Registry) => new Histogram({ name: 'x_seconds', help: 'x', labelNames: ['t'], buckets: [1, 2], registers: [registry] });
    const [hp, hf] = [make(plain), make(fast)];
    for (const h of [hp, hf]) h.observe({ t: 'a' }, 1.5);
    expect(await fast.metrics()).toBe(await plain.metrics());
    for (const h of [hp, hf]) {
      h.observe({ t: 'a' }, 0.5);
      h.zero({ t: 'b' });
    }
    for (const r of [plain, fast]) r.setDefaultLabels({ site: 'bcu' });
    expect(await fast.metrics()).toBe(await plain.metrics());
    for (const h of [hp, hf]) h.remove({ t: 'a' });
    expect(await fast.getSingleMetricAsString('x_seconds')).toBe(await plain.getSingleMetricAsString('x_seconds'));
  });

  it('falls back to prom-client for OpenMetrics (exemplars) and histograms with collect()', async () => {
    // Exemplars carry Date.now(): one frozen clock, or the two observations may straddle a millisecond.
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => void vi.useRealTimers());
    const open = new FastRegistry() as unknown as Registry<OpenMetricsContentType>;
    const reference = new Registry<OpenMetricsContentType>();
    for (const registry of [open, reference]) {
      registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      const h = new Histogram({ name: 'e_seconds', help: 'e', labelNames: ['t'], buckets: [1], enableExemplars: true, registers: [registry] });
      h.observe({ labels: { t: 'a' }, value: 0.5, exemplarLabels: { t: 'trace-abc' } });
      new Histogram({ name: 'o_seconds', help: 'o', buckets: [1], registers: [registry] }).observe(0.2);
    }
    expect(await open.metrics()).toBe(await reference.metrics());

    const { plain, fast } = await both((registry) => {
      const h: Histogram = new Histogram({ name: 'c_seconds', help: 'c', buckets: [1], registers: [registry], collect: () => h.observe(0.3) });
    });
    expect(fast).toBe(plain);
  });

  it('writes the same bytes as chunks (metricsChunks), before and after new observations', async () => {
    const plain = new Registry();
    const fast = new FastRegistry();
    const histograms = [plain, fast].map((registry) => {
      registry.setDefaultLabels({ site: 'lambeth' });
      new Gauge({ name: 'g', help: 'g', registers: [registry] }).set(0.5);
      return new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['t'], buckets: [0.0001, 1, 12345678901], registers: [registry] });
    });
    const expectSame = async () => expect(Buffer.concat(await fast.metricsChunks()).toString()).toBe(await plain.metrics());
    for (const h of histograms) h.zero({ t: 'zeroed' });
    await expectSame();
    const values = [0.00000123456789012345, -0.00000123456789012345, 98765432109, -3.5, 0, 1 / 3, 1e300];
    for (const [i, value] of values.entries()) {
      for (const h of histograms) h.observe({ t: i % 2 ? 'süd "ost"' : 'a' }, value);
      await expectSame();
      expect(await fast.metrics()).toBe(await plain.metrics());
    }
    await expectSame();
  });
});
