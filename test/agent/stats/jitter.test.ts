import { describe, expect, it } from 'vitest';
import { JitterEstimator } from '../../../agent/stats/jitter.js';

describe('JitterEstimator (RFC 3550: J += (|D| - J) / 16)', () => {
  it('has no estimate after the first sample', () => {
    const jitter = new JitterEstimator();
    expect(jitter.value).toBeUndefined();
    expect(jitter.update(0.02)).toBeUndefined();
    expect(jitter.value).toBeUndefined();
  });

  it('follows a known sequence step by step', () => {
    const jitter = new JitterEstimator();
    const steps = [0.01, 0.012, 0.011, 0.011, 0.015].map((d) => jitter.update(d));
    // |D| = 0.002, 0.001, 0, 0.004 applied to J starting at 0
    const j1 = 0.002 / 16;
    const j2 = j1 + (0.001 - j1) / 16;
    const j3 = j2 + (0 - j2) / 16;
    const j4 = j3 + (0.004 - j3) / 16;
    expect(steps[0]).toBeUndefined();
    expect(steps[1]).toBeCloseTo(j1, 15);
    expect(steps[2]).toBeCloseTo(j2, 15);
    expect(steps[3]).toBeCloseTo(j3, 15);
    expect(steps[4]).toBeCloseTo(j4, 15);
    expect(jitter.value).toBe(steps[4]);
  });

  it('is zero for a constant duration', () => {
    const jitter = new JitterEstimator();
    for (let i = 0; i < 10; i++) jitter.update(0.005);
    expect(jitter.value).toBe(0);
  });

  it('converges to the mean absolute difference: 1 - (15/16)^n of it after n differences', () => {
    const jitter = new JitterEstimator();
    const n = 64;
    for (let i = 0; i <= n; i++) jitter.update(i % 2 === 0 ? 0.02 : 0.022);
    expect(jitter.value).toBeCloseTo(0.002 * (1 - (15 / 16) ** n), 12);
  });

  it('forgets everything on reset', () => {
    const jitter = new JitterEstimator();
    jitter.update(0.01);
    jitter.update(0.03);
    jitter.reset();
    expect(jitter.value).toBeUndefined();
    expect(jitter.update(0.5)).toBeUndefined();
    expect(jitter.update(0.5)).toBe(0);
  });
});
