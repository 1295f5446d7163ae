// The path tracing component on loopback with the real native addon (built by `npm run build`;
// no privilege needed: UDP with IP_RECVERR): 127.0.0.1 is one hop away and answers port-unreachable.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../agent/config/load.js';
import { createPathTracing, pathTracingComponent } from '../../../agent/path-tracing/component.js';
import { waitFor } from '../../support/linkmon-process.js';
import { capturedLogger, metricValue } from '../../responder/support.js';

const config = (pathTracing: string) =>
  parseConfigText(
    `site: { id: esb, name: ESB }
modules: { tcp: { kind: tcp, port: 9 } }
targets:
  - { name: local, module: tcp, host: 127.0.0.1, labels: { link: lab } }
  - { name: other, module: tcp, host: 127.0.0.2 }
${pathTracing}`,
    'inline.yaml',
  );

const TRACING = 'path_tracing: { interval: 1s, timeout: 200ms, max_hops: 3, probes: 2, targets: [local] }\n';

describe('path tracing component (loopback)', () => {
  it('traces a target, one hop away, into the path metrics', async () => {
    const registry = new Registry();
    const { log } = capturedLogger();
    const component = pathTracingComponent({ config: config(TRACING), registry, log })!;
    const labels = { target: 'local', link: 'lab' };
    try {
      expect(await metricValue(registry, 'linkmon_path_traces_total', labels)).toBe(0);
      await component.start();
      await waitFor('first trace', async () => ((await metricValue(registry, 'linkmon_path_traces_total', labels)) >= 1 ? true : undefined), 10_000, 50);
    } finally {
      await component.stop();
    }
    expect(await metricValue(registry, 'linkmon_path_tracing_available')).toBe(1);
    expect(await metricValue(registry, 'linkmon_path_hop_count', labels)).toBe(1);
    expect(await metricValue(registry, 'linkmon_path_last_responding_hop', labels)).toBe(1);
    expect(await metricValue(registry, 'linkmon_path_hop_info', { ...labels, hop: '1', address: '127.0.0.1' })).toBe(1);
    expect(await metricValue(registry, 'linkmon_path_hop_probes_sent_total', { ...labels, hop: '1' })).toBeGreaterThanOrEqual(2);
    expect(await metricValue(registry, 'linkmon_path_hop_probes_lost_total', { ...labels, hop: '1' })).toBe(0);
    expect(await metricValue(registry, 'linkmon_path_hop_rtt_seconds', { ...labels, hop: '1' })).toBeGreaterThan(0);
    // Hops beyond the destination are never probed; their counters exist (zero) up to max_hops.
    expect(await metricValue(registry, 'linkmon_path_hop_probes_sent_total', { ...labels, hop: '3' })).toBe(0);
    expect(await metricValue(registry, 'linkmon_path_trace_failures_total', { ...labels, reason: 'unreached' })).toBe(0);
  });

  it('without the native addon: not started, linkmon_path_tracing_available 0 and one log line', async () => {
    const registry = new Registry();
    const { log, output } = capturedLogger();
    expect(createPathTracing(() => undefined)({ config: config(TRACING), registry, log })).toBeUndefined();
    expect(await metricValue(registry, 'linkmon_path_tracing_available')).toBe(0);
    expect(output().split('\n').filter((line) => line.includes('path tracing unavailable'))).toHaveLength(1);
  });

  it('a reload that stops tracing a target removes its series; one that changes max_hops restarts its hop series', async () => {
    const registry = new Registry();
    const { log } = capturedLogger();
    const factory = createPathTracing(() => undefined);
    factory({ config: config(TRACING), registry, log });
    const text = async () => (await registry.metrics()).split('\n').filter((line) => line.startsWith('linkmon_path_hop_probes_sent_total'));
    expect(await text()).toHaveLength(3);
    factory({ config: config(TRACING.replace('max_hops: 3', 'max_hops: 5')), registry, log });
    expect(await text()).toHaveLength(5);
    factory({ config: config(TRACING.replace('targets: [local]', 'targets: [other]')), registry, log });
    expect((await text()).every((line) => line.includes('target="other"'))).toBe(true);
    factory({ config: config(''), registry, log });
    expect(await text()).toEqual([]);
  });
});
