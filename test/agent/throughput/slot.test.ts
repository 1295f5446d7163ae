import { describe, expect, it } from 'vitest';
import { parseByteSize } from '../../../lib/units.js';
import { slotOffsetSeconds } from '../../../agent/throughput/slot.js';

const SITES = ['esb', 'lambeth', ...Array.from({ length: 12 }, (_, i) => `bcu_${i + 1}`)];

describe('per-site slot offset', () => {
  it('is the same for the same site every time, and inside the spread', () => {
    for (const site of SITES) {
      const offset = slotOffsetSeconds(site, 600);
      expect(slotOffsetSeconds(site, 600)).toBe(offset);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(600);
    }
  });

  it('spreads the 14 sites over the window instead of stacking them at the tick', () => {
    const offsets = SITES.map((site) => slotOffsetSeconds(site, 600));
    expect(new Set(offsets).size).toBe(SITES.length);
    expect(Math.max(...offsets) - Math.min(...offsets)).toBeGreaterThan(300);
  });

  it('is 0 without a spread', () => expect(slotOffsetSeconds('esb', 0)).toBe(0));
});

describe('byte sizes', () => {
  it.each([
    ['1000', 1000],
    ['64kB', 64_000],
    ['64KB', 64_000],
    ['500MB', 500_000_000],
    ['1.5GB', 1_500_000_000],
    ['1GiB', 1024 ** 3],
    ['10 MiB', 10 * 1024 ** 2],
  ])('%s is %d bytes', (text, bytes) => expect(parseByteSize(text)).toBe(bytes));

  it.each(['', 'MB', '-1MB', '1TB', '1 parsec'])('rejects "%s"', (text) => expect(parseByteSize(text)).toBeUndefined());
});
