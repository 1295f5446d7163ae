import { describe, expect, it } from 'vitest';
import { RenderBuffer, RenderBufferPool } from '../../../lib/metrics/render-buffer.js';

describe('RenderBuffer', () => {
  it('keeps what was written when it grows, and is written again from the start after clear()', () => {
    const buffer = new RenderBuffer(4);
    buffer.append(Buffer.from('abc'));
    buffer.appendString('défg');
    const direct = buffer.reserve(3);
    direct.write('xyz', buffer.length, 'latin1');
    buffer.length += 3;
    expect(buffer.content.toString()).toBe('abcdéfgxyz');
    expect(buffer.capacity).toBe(16);
    const memory = buffer.bytes;
    buffer.clear();
    buffer.appendString('new');
    expect(buffer.content.toString()).toBe('new');
    expect(buffer.bytes).toBe(memory);
  });

  it('writes any string as UTF-8, however far it grows', () => {
    const buffer = new RenderBuffer(1);
    const text = `${'€'.repeat(1000)}😀 ${'x'.repeat(5000)}`;
    buffer.appendString(text);
    expect(buffer.content.toString()).toBe(text);
    expect(buffer.length).toBe(Buffer.byteLength(text));
  });
});

describe('RenderBufferPool', () => {
  it('hands out the free buffer nearest in size, emptied, and keeps at most `keep` free ones', () => {
    const pool = new RenderBufferPool(2);
    const [large, small, extra] = [pool.acquire(), pool.acquire(), pool.acquire()];
    large.reserve(1_000_000);
    large.length = 10;
    small.reserve(50_000);
    for (const buffer of [large, small, extra]) pool.release(buffer);
    expect(pool.freeCount).toBe(2);
    expect(pool.acquire(900_000)).toBe(large);
    expect(large.length).toBe(0);
    expect(pool.acquire(40_000)).toBe(small);
    expect(pool.acquire(40_000)).not.toBe(extra);
  });

  it('does not keep a buffer twice when it is given back twice', () => {
    const pool = new RenderBufferPool();
    const buffer = pool.acquire();
    pool.release(buffer);
    pool.release(buffer);
    expect(pool.freeCount).toBe(1);
    expect(pool.acquire()).toBe(buffer);
    expect(pool.acquire()).not.toBe(buffer);
  });
});
