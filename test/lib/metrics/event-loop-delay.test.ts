import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerProcessMetrics } from '../../../lib/metrics/process-metrics.js';
import { parseExposition } from '../../support/exposition.js';

function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('event-loop delay summary', () => {
  it('reports how late the loop was, not the sampling interval plus that (prom-client read ~1 s on an idle loop)', async () => {
    const registry = new Registry();
    registerProcessMetrics(registry);
    await sleep(1200);
    // A block longer than the 1 s sampling interval holds back at least one sample by 500 ms or more,
    // however busy the box: load only adds to it.
    busyFor(1500);
    await sleep(1200);
    const samples = parseExposition(await registry.metrics());
    const value = (name: string) => {
      const found = samples.filter((s) => s.name === name);
      expect(found, name).toHaveLength(1);
      return found[0]!.value;
    };
    const max = value('nodejs_eventloop_lag_max_seconds');
    const min = value('nodejs_eventloop_lag_min_seconds');
    expect(max).toBeGreaterThanOrEqual(0.45);
    // Sampled once a second, the old reading never fell below 1 s; the idle samples here are ~1 ms.
    expect(min).toBeLessThan(1);
    expect(min).toBeLessThanOrEqual(value('nodejs_eventloop_lag_p50_seconds'));
    expect(value('nodejs_eventloop_lag_p99_seconds')).toBeLessThanOrEqual(max);
    // The next scrape describes only what happened since this one.
    await sleep(1100);
    expect(parseExposition(await registry.metrics()).find((s) => s.name === 'nodejs_eventloop_lag_max_seconds')!.value).toBeLessThan(max);
  });
});
