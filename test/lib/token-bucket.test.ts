import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../lib/token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then one request per interval', () => {
    let now = 0;
    const limiter = new TokenBucket(1 / 0.5, 2, () => now);
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual([true, true, false]);
    now = 0.25;
    expect(limiter.take()).toBe(false);
    now = 0.5;
    expect(limiter.take()).toBe(true);
    now = 100;
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual([true, true, false]);
  });
});
