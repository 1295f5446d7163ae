import { describe, expect, it } from 'vitest';
import { binomialInterval, binomialPmf, lossConsistentWith, lossRatio } from './binomial.js';

describe('binomialPmf', () => {
  it('matches small cases computed by hand and sums to 1', () => {
    const pmf = binomialPmf(4, 0.5);
    [1, 4, 6, 4, 1].forEach((c, k) => expect(pmf[k]).toBeCloseTo(c / 16, 12));
    const large = binomialPmf(2000, 0.1);
    expect(large.reduce((a, x) => a + x, 0)).toBeCloseTo(1, 9);
  });

  it('handles the certain cases', () => {
    expect(binomialPmf(3, 0)).toEqual([1, 0, 0, 0]);
    expect(binomialPmf(3, 1)).toEqual([0, 0, 0, 1]);
  });
});

describe('binomialInterval', () => {
  it('is exactly zero losses at 0% drop', () => {
    expect(binomialInterval(600, 0)).toEqual({ low: 0, high: 0 });
  });

  it('leaves at most 2.5% in each tail', () => {
    const n = 600;
    const p = 0.1;
    const pmf = binomialPmf(n, p);
    const { low, high } = binomialInterval(n, p);
    const sum = (from: number, to: number) => pmf.slice(from, to + 1).reduce((a, x) => a + x, 0);
    expect(sum(0, low - 1)).toBeLessThanOrEqual(0.025);
    expect(sum(0, low)).toBeGreaterThan(0.025);
    expect(sum(high + 1, n)).toBeLessThanOrEqual(0.025);
    expect(sum(high, n)).toBeGreaterThan(0.025);
    // the normal approximation gives about 60 ± 14.4
    expect(low).toBeGreaterThanOrEqual(44);
    expect(high).toBeLessThanOrEqual(76);
  });

  it('rejects impossible arguments', () => {
    expect(() => binomialInterval(-1, 0.1)).toThrow(RangeError);
    expect(() => binomialInterval(10, 1.5)).toThrow(RangeError);
    expect(() => binomialInterval(10, 0.1, 1)).toThrow(RangeError);
  });
});

describe('lossConsistentWith and lossRatio', () => {
  it('accepts counts inside the interval and rejects those outside', () => {
    expect(lossConsistentWith(12, 600, 0.02)).toBe(true);
    expect(lossConsistentWith(40, 600, 0.02)).toBe(false);
    expect(lossConsistentWith(1, 600, 0)).toBe(false);
  });

  it('is 0 with no attempts', () => {
    expect(lossRatio(0, 0)).toBe(0);
    expect(lossRatio(3, 12)).toBe(0.25);
  });
});
