import { describe, expect, it } from 'vitest';
import { sourceKey } from '../../lib/source-address.js';

describe('sourceKey (what per-source limits count under)', () => {
  it.each([
    ['198.18.1.2', '198.18.1.2'],
    ['::ffff:198.18.1.2', '198.18.1.2'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    [undefined, 'unknown'],
  ])('%s → %s', (address, key) => {
    expect(sourceKey(address)).toBe(key);
  });
});
