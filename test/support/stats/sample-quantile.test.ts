import { describe, expect, it } from 'vitest';
import { median, sampleQuantile } from './sample-quantile.js';

describe('sampleQuantile (linear between closest ranks)', () => {
  it('interpolates between ranks', () => {
    expect(sampleQuantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(sampleQuantile([1, 2, 3, 4, 5], 0.95)).toBeCloseTo(4.8, 12);
    expect(median([3, 1, 2])).toBe(2);
  });

  it('clamps q and handles tiny inputs', () => {
    expect(sampleQuantile([7], 0.9)).toBe(7);
    expect(sampleQuantile([1, 2], -1)).toBe(1);
    expect(sampleQuantile([1, 2], 2)).toBe(2);
    expect(sampleQuantile([], 0.5)).toBeNaN();
  });
});
