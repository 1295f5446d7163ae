import { afterEach, describe, expect, it, vi } from 'vitest';
import { TEST_LINGER_MS, TestSlots } from '../../responder/slots.js';

describe('TestSlots (responder concurrency)', () => {
  afterEach(() => vi.useRealTimers());

  it('gives out at most `capacity` slots and takes each back exactly once', () => {
    const slots = new TestSlots(2, 30, 4, () => 0);
    const a = slots.tryAcquire()!;
    const b = slots.tryAcquire()!;
    expect(slots.tryAcquire()).toBeUndefined();
    a();
    a();
    expect(slots.inUse).toBe(1);
    expect(slots.tryAcquire()).toBeDefined();
    b();
  });

  it('lets the requests of one test share a slot up to max streams, and keeps it briefly after the last', () => {
    vi.useFakeTimers();
    const slots = new TestSlots(1, 30, 2, () => 0);
    const first = slots.tryAcquire('10.0.0.1|t1')!;
    const second = slots.tryAcquire('10.0.0.1|t1')!;
    expect(slots.tryAcquire('10.0.0.1|t1')).toBeUndefined(); // third stream
    expect(slots.tryAcquire('10.0.0.2|t9')).toBeUndefined(); // another test: no slot
    first();
    second();
    expect(slots.tryAcquire('10.0.0.2|t9')).toBeUndefined(); // still lingering for t1
    const next = slots.tryAcquire('10.0.0.1|t1'); // t1's next request gets it back
    expect(next).toBeDefined();
    next!();
    vi.advanceTimersByTime(TEST_LINGER_MS);
    expect(slots.tryAcquire('10.0.0.2|t9')).toBeDefined();
  });

  it('Retry-After is the time until the soonest running test reaches the time cap, at least 1 s', () => {
    let now = 0;
    const slots = new TestSlots(2, 30, 1, () => now);
    slots.tryAcquire();
    now = 12_500;
    slots.tryAcquire();
    expect(slots.retryAfterSeconds()).toBe(18);
    now = 40_000;
    expect(slots.retryAfterSeconds()).toBe(1);
  });
});
