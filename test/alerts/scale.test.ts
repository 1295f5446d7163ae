import { describe, expect, it } from 'vitest';
import { alertsConfig } from '../../alerts/src/config.js';
import { renderRuleFiles } from '../../alerts/src/render.js';
import { scaleDurations } from '../../alerts/src/scale.js';

describe('scaleDurations (fast variants of the alerting config for end-to-end tests)', () => {
  it('scales every duration string, rounds up to whole seconds, keeps a floor, and leaves the rest alone', () => {
    const scaled = scaleDurations({ window: '5m', for: '30s', tiny: '2s', label: 'hsl', selector: 'job="linkmon"', ratio: 0.05, kinds: ['icmp', '7d'] }, 0.1);
    expect(scaled).toEqual({ window: '30s', for: '3s', tiny: '1s', label: 'hsl', selector: 'job="linkmon"', ratio: 0.05, kinds: ['icmp', '60480s'] });
  });

  it('does not change the input', () => {
    const before = JSON.stringify(alertsConfig);
    scaleDurations(alertsConfig, 0.1);
    expect(JSON.stringify(alertsConfig)).toBe(before);
  });

  it('gives rules that keep the order of firing: the HSL alert before the per-site one', () => {
    const fast = scaleDurations(alertsConfig, 0.1);
    expect(fast.hslDown.for).toBe('3s');
    expect(fast.reachability.for).toBe('6s');
    expect(renderRuleFiles(fast)['reachability.yml']).toContain('ratio_rate6s');
  });
});
