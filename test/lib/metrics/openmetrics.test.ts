import { Counter, Gauge, Histogram, Registry, type OpenMetricsContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../../agent/metrics.js';
import { FastRegistry } from '../../../lib/metrics/fast-registry.js';
import { toOpenMetrics, toOpenMetricsInPlace } from '../../../lib/metrics/openmetrics.js';
import { RenderBuffer } from '../../../lib/metrics/render-buffer.js';

const convert = (chunks: Buffer[]) => Buffer.concat(toOpenMetrics(chunks)).toString();

/** The same metrics on an agent registry (0.0.4, converted) and on prom-client's own OpenMetrics registry. */
async function both(populate: (registry: Registry) => void): Promise<{ converted: string; promClient: string }> {
  const fast = new FastRegistry();
  const openMetrics = new Registry<OpenMetricsContentType>();
  openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  populate(fast);
  populate(openMetrics as unknown as Registry);
  return { converted: convert(await fast.metricsChunks()), promClient: await openMetrics.metrics() };
}

describe('toOpenMetrics', () => {
  it("gives AgentMetrics byte for byte as prom-client's own OpenMetrics registry does", async () => {
    const { converted, promClient } = await both((registry) => {
      registry.setDefaultLabels({ site: 'esb' });
      const metrics = new AgentMetrics(registry, ['link']);
      const labels = { target: 'hsl', kind: 'icmp', link: 'hsl' };
      metrics.addTarget(labels);
      for (const result of [{ ok: true, durationSeconds: 0.012 } as const, { ok: false, reason: 'timeout', detail: 'x' } as const]) {
        metrics.attemptStarted(labels);
        metrics.recordAttempt(labels, result, result.ok ? 0.001 : undefined, 1_700_000_000);
      }
    });
    expect(converted).toContain('# TYPE linkmon_probe_attempts counter\n');
    expect(converted).toContain('\nlinkmon_probe_attempts_total{target="hsl",kind="icmp",link="hsl",site="esb"} 2\n');
    expect(converted).not.toMatch(/\n\n/);
    expect(converted.endsWith('\n# EOF\n')).toBe(true);
    expect(converted).toBe(promClient);
  });

  it('declares a counter without _total as unknown, escapes quotes in HELP and keeps histograms as they are', async () => {
    const registry = new FastRegistry();
    new Counter({ name: 'legacy_count', help: 'no suffix', registers: [registry] }).inc(3);
    new Gauge({ name: 'quoted', help: 'say "hi" \\ there', registers: [registry] }).set(1);
    new Histogram({ name: 'rtt_seconds', help: 'h', labelNames: ['t'], buckets: [0.1], registers: [registry] }).observe({ t: 'a#b' }, 0.05);
    expect(convert(await registry.metricsChunks())).toBe(
      [
        '# HELP legacy_count no suffix',
        '# TYPE legacy_count unknown',
        'legacy_count 3',
        '# HELP quoted say \\"hi\\" \\\\ there',
        '# TYPE quoted gauge',
        'quoted 1',
        '# HELP rtt_seconds h',
        '# TYPE rtt_seconds histogram',
        'rtt_seconds_bucket{le="0.1",t="a#b"} 1',
        'rtt_seconds_bucket{le="+Inf",t="a#b"} 1',
        'rtt_seconds_sum{t="a#b"} 0.05',
        'rtt_seconds_count{t="a#b"} 1',
        '# EOF',
        '',
      ].join('\n'),
    );
  });

  it('passes chunks without a descriptor or a blank line on as the same buffers', () => {
    const series = Buffer.from('\nx_bucket{le="1"} 2\nx_count 2');
    const out = toOpenMetrics([Buffer.from('# HELP x h\n# TYPE x histogram'), series, Buffer.from('\n\n'), Buffer.from('# TYPE y gauge\ny 1'), Buffer.from('\n')]);
    expect(out).toContain(series);
    expect(Buffer.concat(out).toString()).toBe('# HELP x h\n# TYPE x histogram\nx_bucket{le="1"} 2\nx_count 2\n# TYPE y gauge\ny 1\n# EOF\n');
  });

  it('ends an empty exposition with just # EOF', () => {
    expect(convert([Buffer.from('\n')])).toBe('# EOF\n');
    expect(convert([])).toBe('# EOF\n');
  });

  it('converts in place (toOpenMetricsInPlace) to the same bytes, or leaves the text untouched when it cannot', async () => {
    const inPlace = async (registry: FastRegistry, prefix: string) => {
      const out = new RenderBuffer(64);
      out.appendString(prefix);
      const ends = (await registry.exposition())(out);
      const text = out.content.toString();
      const done = toOpenMetricsInPlace(out, prefix.length, ends);
      return { done, text, result: out.content.toString(), expected: prefix + convert(await registry.metricsChunks()) };
    };
    const agent = new FastRegistry();
    agent.setDefaultLabels({ site: 'esb' });
    const metrics = new AgentMetrics(agent, ['link']);
    for (const target of ['a', 'b']) {
      metrics.addTarget({ target, kind: 'icmp', link: 'hsl' });
      metrics.recordAttempt({ target, kind: 'icmp', link: 'hsl' }, { ok: true, durationSeconds: 0.02 }, 0.001, 1_700_000_000);
    }
    new Gauge({ name: 'quoted', help: 'say "hi"', registers: [agent] }).set(1);
    const converted = await inPlace(agent, 'kept before ');
    expect(converted.done).toBe(true);
    expect(converted.result).toBe(converted.expected);

    // The first family's HELP gains escapes before its series lines, which would have to move right.
    const quotedFirst = new FastRegistry();
    new Histogram({ name: 'q_seconds', help: 'a "b"', buckets: [1], registers: [quotedFirst] }).observe(0.5);
    new Counter({ name: 'c_total', help: 'c', registers: [quotedFirst] }).inc();
    const refused = await inPlace(quotedFirst, '');
    expect(refused.done).toBe(false);
    expect(refused.result).toBe(refused.text);
  });
});
