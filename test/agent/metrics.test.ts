import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../agent/metrics.js';

describe('AgentMetrics', () => {
  it('follows the address family of the latest attempt that had one (set when it changes, not per attempt)', async () => {
    const registry = new Registry();
    const metrics = new AgentMetrics(registry, []);
    const labels = { target: 'dc', kind: 'tcp' };
    metrics.addTarget(labels);
    const family = async () => (await registry.getSingleMetric('linkmon_probe_ip_protocol')!.get()).values.find((v) => v.labels.target === 'dc')?.value;
    expect(await family()).toBe(0);
    metrics.recordAttempt(labels, { ok: true, durationSeconds: 0.01, ipProtocol: 6 }, undefined, 1);
    expect(await family()).toBe(6);
    metrics.recordAttempt(labels, { ok: false, reason: 'dns', detail: 'no address' }, undefined, 2);
    expect(await family()).toBe(6);
    metrics.recordAttempt(labels, { ok: true, durationSeconds: 0.01, ipProtocol: 4 }, undefined, 3);
    expect(await family()).toBe(4);
    // A reload removes the target and adds it again: the gauge starts at 0 and follows again.
    metrics.removeTarget(labels);
    metrics.addTarget(labels);
    expect(await family()).toBe(0);
    metrics.recordAttempt(labels, { ok: true, durationSeconds: 0.01, ipProtocol: 4 }, undefined, 4);
    expect(await family()).toBe(4);
  });
});
