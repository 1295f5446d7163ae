import { describe, expect, it } from 'vitest';
import { keepTrimmingMallocHeap } from '../../agent/memory-release.js';
import { nativeAddon } from '../../agent/probes/native/addon.js';

// Needs the native addon (npm run build).
describe('trimming malloc’s heap', () => {
  it('returns free pages without touching memory in use', () => {
    const kept = Array.from({ length: 16 }, () => Buffer.alloc(64 * 1024, 1));
    expect(typeof nativeAddon()!.memory.trimMallocHeap()).toBe('boolean');
    expect(kept.every((b) => b.every((byte) => byte === 1))).toBe(true);
  });

  it('trims until stopped', () => {
    const stop = keepTrimmingMallocHeap();
    expect(stop).toBeTypeOf('function');
    stop();
  });
});
