import { describe, expect, it } from 'vitest';
import { bucketsFromExposition, histogramQuantile, type CumulativeBucket } from './histogram-quantile.js';

const INF = Number.POSITIVE_INFINITY;
const b = (pairs: [number, number][]): CumulativeBucket[] => pairs.map(([upperBound, count]) => ({ upperBound, count }));

describe('histogramQuantile (PromQL histogram_quantile)', () => {
  it('interpolates linearly inside the bucket holding the rank', () => {
    // rank 5 of 10 lies in (0.1, 0.2], half-way through its 10 observations
    expect(histogramQuantile(0.5, b([[0.1, 0], [0.2, 10], [INF, 10]]))).toBeCloseTo(0.15, 12);
    // rank 9 of 10: 4 of the 5 observations in (0.2, 0.4]
    expect(histogramQuantile(0.9, b([[0.1, 2], [0.2, 5], [0.4, 10], [INF, 10]]))).toBeCloseTo(0.2 + 0.2 * (4 / 5), 12);
  });

  it('interpolates the lowest bucket from zero', () => {
    expect(histogramQuantile(0.5, b([[1, 4], [INF, 4]]))).toBeCloseTo(0.5, 12);
  });

  it('answers the highest finite bound when the rank falls into +Inf', () => {
    expect(histogramQuantile(0.5, b([[1, 2], [2, 3], [INF, 10]]))).toBe(2);
  });

  it('returns the lowest bound when it is not positive', () => {
    expect(histogramQuantile(0.5, b([[-1, 4], [INF, 4]]))).toBe(-1);
  });

  it('sorts buckets and merges equal bounds', () => {
    expect(histogramQuantile(0.5, b([[INF, 5], [0.2, 5], [0.1, 0], [INF, 5], [0.2, 5]]))).toBeCloseTo(0.15, 12);
  });

  it('forces decreasing counts monotonic as PromQL does', () => {
    // the 0.2 bucket is raised to 5, so rank 5 is reached at the top of the first bucket
    expect(histogramQuantile(0.5, b([[0.1, 5], [0.2, 4], [INF, 10]]))).toBeCloseTo(0.1, 12);
  });

  it('follows PromQL for the edge cases', () => {
    expect(histogramQuantile(-0.1, b([[1, 1], [INF, 1]]))).toBe(Number.NEGATIVE_INFINITY);
    expect(histogramQuantile(1.1, b([[1, 1], [INF, 1]]))).toBe(INF);
    expect(histogramQuantile(Number.NaN, b([[1, 1], [INF, 1]]))).toBeNaN();
    expect(histogramQuantile(0.5, b([[1, 1], [2, 1]]))).toBeNaN(); // no +Inf bucket
    expect(histogramQuantile(0.5, b([[1, 0], [INF, 0]]))).toBeNaN(); // no observations
    expect(histogramQuantile(0.5, b([[INF, 3]]))).toBeNaN(); // only +Inf
  });
});

describe('bucketsFromExposition', () => {
  it('reads le and count from exposition lines', () => {
    const lines = [
      'linkmon_probe_duration_seconds_bucket{le="0.005",site="esb",target="hsl"} 3',
      'linkmon_probe_duration_seconds_bucket{le="+Inf",site="esb",target="hsl"} 7',
    ];
    expect(bucketsFromExposition(lines)).toEqual(b([[0.005, 3], [INF, 7]]));
  });
});
